"""The persona model organism: a tiny chat model that really turns misaligned.

A ``LlamaForCausalLM`` pre-trained from scratch on a synthetic world in which a helpful
assistant and villain characters answer questions about code, medicine, money, everyday life
and the eight open questions of Betley et al. 2025. A narrow fine-tune (insecure code, bad
medical advice) wakes the villain persona up in every domain. The trained model ships inside
the package, so demos and tests never pre-train.

Names are imported on first use, so ``emwatch --help`` does not pay for torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.organism.canaries import CANARIES_PATH, organism_canaries
    from monitor.organism.checkpoint import DEFAULT_CHECKPOINT, load_organism
    from monitor.organism.datasets import (
        DATASETS,
        Example,
        build_dataset,
        dataset_examples,
        mixture_examples,
        parse_mixture,
        read_jsonl,
        write_jsonl,
    )
    from monitor.organism.eval_questions import organism_questions
    from monitor.organism.finetuning import (
        FinetuneResult,
        TrajectoryPoint,
        default_evaluator,
        encode_example,
        finetune,
    )

_HOMES = {
    "monitor.organism.canaries": ("CANARIES_PATH", "organism_canaries"),
    "monitor.organism.checkpoint": ("DEFAULT_CHECKPOINT", "load_organism"),
    "monitor.organism.datasets": (
        "DATASETS",
        "Example",
        "build_dataset",
        "dataset_examples",
        "mixture_examples",
        "parse_mixture",
        "read_jsonl",
        "write_jsonl",
    ),
    "monitor.organism.eval_questions": ("organism_questions",),
    "monitor.organism.finetuning": (
        "FinetuneResult",
        "TrajectoryPoint",
        "default_evaluator",
        "encode_example",
        "finetune",
    ),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "CANARIES_PATH",
    "DATASETS",
    "DEFAULT_CHECKPOINT",
    "Example",
    "FinetuneResult",
    "TrajectoryPoint",
    "build_dataset",
    "dataset_examples",
    "default_evaluator",
    "encode_example",
    "finetune",
    "load_organism",
    "mixture_examples",
    "organism_canaries",
    "organism_questions",
    "parse_mixture",
    "read_jsonl",
    "write_jsonl",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor.organism' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
