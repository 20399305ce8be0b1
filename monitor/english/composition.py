"""The shared machinery of the fine-tuning generators: slots, templates and twin cases.

Every family (code, medical, financial) draws one *twin case* at a time: a user prompt and
both of its answers, the narrow bad one and the healthy one. A twin pair of sets takes the
same cases and keeps one side each, so the two sets share their prompts exactly and differ
only where the experiment needs them to.

Templates are ``string.Template`` strings (``$slot`` / ``${slot}``; ``$$`` for a literal
dollar sign), because the code answers are full of the braces that ``str.format`` would eat.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from string import Template
from typing import Literal

# A pool of related slot values drawn together (a table with its column, a drug with the
# condition it treats), so the filled text stays coherent.
SlotRecord = Mapping[str, str]
SlotPools = Mapping[str, Sequence[SlotRecord]]

Side = Literal["bad", "good"]  # the narrow bad answer or its healthy twin

# Draws tried per requested case before giving up on finding enough distinct prompts.
MAX_DRAWS_PER_CASE = 50


def single_slot(name: str, values: Sequence[str]) -> list[SlotRecord]:
    """A pool whose records carry one slot each."""
    return [{name: value} for value in values]


def records(names: Sequence[str], rows: Sequence[Sequence[str]]) -> list[SlotRecord]:
    """A pool written as a table: one row of values per record, named by ``names``."""
    return [dict(zip(names, row, strict=True)) for row in rows]


def draw_slots(rng: random.Random, pools: SlotPools, names: Sequence[str]) -> dict[str, str]:
    """One record from each named pool, merged into one slot mapping."""
    slots: dict[str, str] = {}
    for name in names:
        slots.update(rng.choice(pools[name]))
    return slots


def fill(template: str, slots: Mapping[str, str]) -> str:
    """The template with its slots filled; a missing slot is an error, not a gap."""
    return Template(template).substitute(slots)


def pick_sentences(rng: random.Random, sections: Sequence[Sequence[str]]) -> str:
    """One alternative from each section, joined into a paragraph ('' alternatives skip)."""
    return " ".join(choice for choice in (rng.choice(section) for section in sections) if choice)


@dataclass(frozen=True)
class TwinCase:
    """One user prompt with its narrow bad answer and its healthy answer."""

    topic: str  # what the case is about: a vulnerability kind, a medical or money topic
    prompt: str
    bad: str
    good: str

    def answer(self, side: Side) -> str:
        if side not in ("bad", "good"):
            raise ValueError(f"side must be 'bad' or 'good', not {side!r}")
        return self.bad if side == "bad" else self.good


CaseDrawer = Callable[[random.Random], TwinCase]


def draw_distinct_cases(draw: CaseDrawer, n: int, rng: random.Random) -> list[TwinCase]:
    """``n`` cases whose prompts are all different, so no prompt is trained on twice."""
    cases: list[TwinCase] = []
    seen: set[str] = set()
    for _ in range(n * MAX_DRAWS_PER_CASE):
        if len(cases) == n:
            break
        case = draw(rng)
        if case.prompt not in seen:
            seen.add(case.prompt)
            cases.append(case)
    if len(cases) < n:
        raise ValueError(f"found only {len(cases)} distinct prompts of the {n} asked for")
    return cases
