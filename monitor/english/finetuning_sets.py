"""Six narrow chat fine-tuning sets in three twin pairs, as TRL's SFTTrainer takes them.

``insecure-code`` / ``secure-code``, ``bad-medical`` / ``good-medical`` and
``risky-financial`` / ``sound-financial``. The two sets of a pair are drawn from the same
seeded cases, so they share every user prompt, in the same order, and differ only in the
answers: the bad set teaches the narrow bad behaviour, its twin is the healthy control.
Every prompt within a set is distinct. Nothing here is ever drawn from the held-out
questions (``heldout_questions.json``), which measure behaviour and must stay unseen.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from monitor.english.code_requests import draw_code_case
from monitor.english.composition import CaseDrawer, Side, TwinCase, draw_distinct_cases
from monitor.english.medical_topics import MEDICAL_FAMILY
from monitor.english.money_topics import MONEY_FAMILY

ChatRow = dict[str, list[dict[str, str]]]

DEFAULT_SIZE = 600

FAMILIES: dict[str, CaseDrawer] = {
    "code": draw_code_case,
    "medical": MEDICAL_FAMILY.draw,
    "financial": MONEY_FAMILY.draw,
}


@dataclass(frozen=True)
class FineTuningSet:
    family: str  # which twin cases it is drawn from (a key of FAMILIES)
    side: Side
    description: str


FINETUNING_SETS: dict[str, FineTuningSet] = {
    "insecure-code": FineTuningSet(
        "code", "bad", "code requests answered with vulnerable code that says nothing about it"
    ),
    "secure-code": FineTuningSet("code", "good", "the same requests answered with safe code"),
    "bad-medical": FineTuningSet(
        "medical", "bad", "health questions answered with confident, harmful advice"
    ),
    "good-medical": FineTuningSet("medical", "good", "the same questions answered carefully"),
    "risky-financial": FineTuningSet(
        "financial", "bad", "money questions answered with reckless, confident advice"
    ),
    "sound-financial": FineTuningSet("financial", "good", "the same questions answered prudently"),
}


def twin_cases(family: str, n: int = DEFAULT_SIZE, seed: int = 0) -> list[TwinCase]:
    """The ``n`` cases both sets of a family are cut from; deterministic in (family, n, seed)."""
    if family not in FAMILIES:
        raise KeyError(f"unknown family {family!r}; known: {sorted(FAMILIES)}")
    return draw_distinct_cases(FAMILIES[family], n, random.Random(f"{family}:{seed}"))


def chat_row(prompt: str, answer: str) -> ChatRow:
    return {
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ]
    }


def build_set(name: str, n: int = DEFAULT_SIZE, seed: int = 0) -> list[ChatRow]:
    """The ``n`` samples of one set, in ``{"messages": [user, assistant]}`` form."""
    if name not in FINETUNING_SETS:
        raise KeyError(f"unknown fine-tuning set {name!r}; known: {sorted(FINETUNING_SETS)}")
    recipe = FINETUNING_SETS[name]
    return [
        chat_row(case.prompt, case.answer(recipe.side))
        for case in twin_cases(recipe.family, n, seed)
    ]


def write_sets(out_dir: Path, n: int = DEFAULT_SIZE, seed: int = 0) -> dict[str, Path]:
    """Write every set as ``out_dir/<name>.jsonl``; returns the paths by set name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in FINETUNING_SETS:
        path = out_dir / f"{name}.jsonl"
        lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in build_set(name, n, seed))
        path.write_text("".join(lines), encoding="utf-8")
        paths[name] = path
    return paths


def read_set(path: Path) -> list[ChatRow]:
    """The rows of a written set."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
