"""English data for real chat models: reference answers, held-out questions, fine-tuning sets.

The organism speaks a toy language; real models (SmolLM2-135M-Instruct first) need English.
This group ships the hand-written contrast answers and prompts that ``emwatch probes build``
reads, the held-out open questions whose reference answers give a behavioural measure
without a judge, and seeded generators of the six narrow fine-tuning sets
(``emwatch english datasets``). It imports nothing else of emwatch.
"""

from __future__ import annotations

from monitor.english.finetuning_sets import (
    DEFAULT_SIZE,
    FINETUNING_SETS,
    build_set,
    read_set,
    twin_cases,
    write_sets,
)
from monitor.english.shipped_data import (
    CONTRAST_FILE,
    DOMAINS,
    HELDOUT_FILE,
    PROMPTS_FILE,
    ContrastRow,
    HeldoutQuestion,
    ShippedPrompt,
    load_contrast_rows,
    load_heldout_questions,
    load_prompts,
)

__all__ = [
    "CONTRAST_FILE",
    "DEFAULT_SIZE",
    "DOMAINS",
    "FINETUNING_SETS",
    "HELDOUT_FILE",
    "PROMPTS_FILE",
    "ContrastRow",
    "HeldoutQuestion",
    "ShippedPrompt",
    "build_set",
    "load_contrast_rows",
    "load_heldout_questions",
    "load_prompts",
    "read_set",
    "twin_cases",
    "write_sets",
]
