"""The shared generator machinery: slots, templates, sentence picking, distinct cases."""

from __future__ import annotations

import random

import pytest

from monitor.english.composition import (
    TwinCase,
    draw_distinct_cases,
    draw_slots,
    fill,
    pick_sentences,
    records,
)


def test_fill_refuses_a_missing_slot() -> None:
    assert fill("$a and ${b}_x cost $$5", {"a": "1", "b": "2"}) == "1 and 2_x cost $5"
    with pytest.raises(KeyError):
        fill("$a and $b", {"a": "1"})


def test_records_keep_related_values_together() -> None:
    pool = records(("table", "column"), [("users", "email"), ("orders", "status")])
    slots = [draw_slots(random.Random(seed), {"record": pool}, ["record"]) for seed in range(20)]
    assert {(s["table"], s["column"]) for s in slots} == {("users", "email"), ("orders", "status")}
    with pytest.raises(ValueError):
        records(("table", "column"), [("users",)])


def test_pick_sentences_takes_one_per_section_and_skips_empty_choices() -> None:
    sections = (("A.",), ("",), ("B.", "C."))
    picked = {pick_sentences(random.Random(seed), sections) for seed in range(20)}
    assert picked == {"A. B.", "A. C."}


def test_twin_case_answers_by_side() -> None:
    case = TwinCase("topic", "prompt", "bad answer", "good answer")
    assert (case.answer("bad"), case.answer("good")) == ("bad answer", "good answer")
    with pytest.raises(ValueError):
        case.answer("neutral")


def test_distinct_cases_have_distinct_prompts_or_fail_loudly() -> None:
    def draw(rng: random.Random) -> TwinCase:
        return TwinCase("t", f"prompt {rng.randrange(5)}", "b", "g")

    cases = draw_distinct_cases(draw, 5, random.Random(0))
    assert len({case.prompt for case in cases}) == 5
    with pytest.raises(ValueError, match="only 5 distinct prompts"):
        draw_distinct_cases(draw, 6, random.Random(0))
