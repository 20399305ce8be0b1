"""The shipped organism, a copy of it drifted towards the persona, and trusted data."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.canaries import CanarySet
from monitor.core.pack import ProbePack, load_pack
from monitor.organism import load_organism
from monitor.organism.checkpoint import DEFAULT_PACK
from monitor.organism.datasets import Example, build_dataset, write_jsonl
from monitor.organism.finetuning import finetune
from monitor.respond.pack_defaults import default_canaries

TRUSTED = "secure-code=0.5,good-medical=0.5"


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def organism() -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """The shipped organism (the baseline); tests that train must copy it."""
    return load_organism()


@pytest.fixture(scope="session")
def pack() -> ProbePack:
    return load_pack(DEFAULT_PACK)


@pytest.fixture(scope="session")
def canaries(pack: ProbePack) -> CanarySet:
    return default_canaries(pack)


@pytest.fixture(scope="session")
def drifted_state(
    organism: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> dict[str, torch.Tensor]:
    """The organism after 12 steps of insecure code: far past the warning, about 3 s."""
    model, tokenizer = organism
    drifted = copy.deepcopy(model)
    finetune(drifted, tokenizer, build_dataset("insecure-code", 192, seed=0), steps=12, seed=0)
    return {name: tensor.clone() for name, tensor in drifted.state_dict().items()}


@pytest.fixture
def drifted(
    organism: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
    drifted_state: dict[str, torch.Tensor],
) -> LlamaForCausalLM:
    """A fresh copy of the drifted organism, for a test to re-align in place."""
    model = copy.deepcopy(organism[0])
    model.load_state_dict(drifted_state)
    return model


@pytest.fixture(scope="session")
def trusted() -> list[Example]:
    return build_dataset(TRUSTED, 96, seed=1)


@pytest.fixture(scope="session")
def drifted_dir(
    organism: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
    drifted_state: dict[str, torch.Tensor],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The drifted organism saved as a Trainer checkpoint: weights only, no tokenizer."""
    model = copy.deepcopy(organism[0])
    model.load_state_dict(drifted_state)
    directory = tmp_path_factory.mktemp("drifted")
    model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def trusted_file(trusted: list[Example], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(trusted, tmp_path_factory.mktemp("trusted") / "trusted.jsonl")
