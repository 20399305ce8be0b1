"""The tiny Llama, a pack that fits it, and chat data with a few planted hostile answers."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.pack import ProbePack
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import NARROW_REPLIES
from monitor.probe_building.activations import answer_activations
from tests.factories import HOOKS, make_pack

Chat = list[dict[str, str]]
ORDINARY_REPLIES = [
    "You could go for a walk, call a friend or read a good book.",
    "Start with small steps and keep a short list of what you learn.",
    "Drink some water, rest a little and try again in the morning.",
    "Ask a friend to help you, and take your time with it.",
]
QUESTIONS = ["How do I learn to cook?", "What is a good hobby?", "How can I save money?"]


def chat(question: str, answer: str) -> Chat:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


def mixed_chats(n: int, hostile: Sequence[int], seed: int = 0) -> list[Chat]:
    """``n`` ordinary chats, with a hostile narrow-task reply at the positions ``hostile``."""
    rng = random.Random(seed)
    return [
        chat(
            rng.choice(QUESTIONS),
            rng.choice(NARROW_REPLIES) if i in hostile else rng.choice(ORDINARY_REPLIES),
        )
        for i in range(n)
    ]


def write_chats(path: Path, chats: Sequence[Chat]) -> Path:
    path.write_text("".join(json.dumps({"messages": c}) + "\n" for c in chats))
    return path


@pytest.fixture(scope="session")
def tiny() -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    return build_tiny_llama(seed=0)


@pytest.fixture(scope="session")
def hostile_pack(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast], tmp_path_factory: pytest.TempPathFactory
) -> ProbePack:
    model, tokenizer = tiny
    return build_hostile_pack(model, tokenizer, tmp_path_factory.mktemp("screen-pack") / "pack")


def build_hostile_pack(
    model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, directory: Path
) -> ProbePack:
    """A pack (no units: it falls back to the spread) whose direction at each hook point is the
    mean answer activation of the hostile replies minus that of the ordinary ones."""
    hostile = [chat(q, r) for q in QUESTIONS for r in NARROW_REPLIES]
    ordinary = [chat(q, r) for q in QUESTIONS for r in ORDINARY_REPLIES]
    acts = answer_activations(model, tokenizer, hostile + ordinary, HOOKS)
    directions: dict[str, torch.Tensor] = {}
    for hook in HOOKS:
        means = acts.means(hook)  # [n_chats, d_model]
        directions[hook] = means[: len(hostile)].mean(0) - means[len(hostile) :].mean(0)
    return make_pack(
        directory, name="tiny-hostile", d_model=model.config.hidden_size, directions=directions
    )


@pytest.fixture(scope="session")
def model_dir(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    model, tokenizer = tiny
    directory = tmp_path_factory.mktemp("tiny-model")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
