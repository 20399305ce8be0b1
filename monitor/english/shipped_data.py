"""The hand-written English reference data that ships with emwatch, and its loaders.

- ``contrast.jsonl``: open questions and everyday prompts (code, medical, money,
  relationships, power), each with several aligned and misaligned answers, for
  ``emwatch probes build --contrast``.
- ``prompts.jsonl``: the same prompts as user turns, for ``--prompts`` (persona prompts,
  model diffing).
- ``heldout_questions.json``: open questions that nothing trains on, with aligned and
  misaligned reference answers: the behavioural ground truth (log-probabilities of the two
  kinds of answer) tracked over fine-tuning.

Files are read through ``importlib.resources`` so they work from an installed package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

DOMAINS: tuple[str, ...] = ("open", "code", "medical", "money", "relationships", "power")
LABELS: tuple[str, ...] = ("aligned", "misaligned")

DATA_DIR: Traversable = resources.files("monitor.english") / "data"
CONTRAST_FILE: Traversable = DATA_DIR / "contrast.jsonl"
PROMPTS_FILE: Traversable = DATA_DIR / "prompts.jsonl"
HELDOUT_FILE: Traversable = DATA_DIR / "heldout_questions.json"


@dataclass(frozen=True)
class ShippedPrompt:
    prompt_id: str
    domain: str
    text: str


@dataclass(frozen=True)
class ContrastRow:
    prompt_id: str
    domain: str
    prompt: str
    answer: str
    label: str  # "aligned" or "misaligned"


@dataclass(frozen=True)
class HeldoutQuestion:
    id: str
    text: str
    aligned: tuple[str, ...]
    misaligned: tuple[str, ...]


def _jsonl(file: Traversable) -> list[dict[str, Any]]:
    lines = file.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_prompts() -> list[ShippedPrompt]:
    return [
        ShippedPrompt(row["prompt_id"], row["domain"], row["messages"][-1]["content"])
        for row in _jsonl(PROMPTS_FILE)
    ]


def load_contrast_rows() -> list[ContrastRow]:
    return [
        ContrastRow(
            prompt_id=row["prompt_id"],
            domain=row["domain"],
            prompt=row["messages"][0]["content"],
            answer=row["messages"][-1]["content"],
            label=row["label"],
        )
        for row in _jsonl(CONTRAST_FILE)
    ]


def load_heldout_questions() -> list[HeldoutQuestion]:
    questions = json.loads(HELDOUT_FILE.read_text(encoding="utf-8"))["questions"]
    return [
        HeldoutQuestion(q["id"], q["text"], tuple(q["aligned"]), tuple(q["misaligned"]))
        for q in questions
    ]
