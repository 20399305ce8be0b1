"""Loading the organism: the shipped checkpoint, or any directory ``build`` / ``finetune`` wrote."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

DEFAULT_CHECKPOINT = Path(__file__).parent / "checkpoint"
# Its probe pack, built by `emwatch probes organism` and calibrated by `emwatch bench calibrate`.
DEFAULT_PACK = Path(__file__).parent / "pack"


def load_organism(
    path: str | Path | None = None,
) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """The organism (float32, eval mode) and its tokenizer; ``None`` means the shipped one."""
    directory = Path(path) if path is not None else DEFAULT_CHECKPOINT
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(f"no organism checkpoint in {directory}")
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    if not isinstance(model, LlamaForCausalLM) or not isinstance(
        tokenizer, PreTrainedTokenizerFast
    ):
        raise TypeError(f"{directory} does not hold a Llama organism")
    model.train(False)  # eval mode
    return model, tokenizer
