"""The held-out open questions: the behavioural ground truth, which nothing may train on."""

from __future__ import annotations

from difflib import SequenceMatcher

import pytest

from monitor.core.canaries import load_canaries
from monitor.english import (
    DEFAULT_SIZE,
    FINETUNING_SETS,
    HeldoutQuestion,
    build_set,
    load_contrast_rows,
    load_heldout_questions,
    load_prompts,
)
from tests.english.prose import normalised, sentences, words

# Word sequences this long shared with a fine-tuning prompt would leak a question's wording.
SHINGLE_WORDS = 5
NEAR_DUPLICATE_RATIO = 0.75


@pytest.fixture(scope="module")
def heldout() -> list[HeldoutQuestion]:
    return load_heldout_questions()


@pytest.fixture(scope="module")
def finetuning_texts() -> tuple[set[str], set[str]]:
    """Every user prompt and answer of the six sets, at two seeds."""
    prompts: set[str] = set()
    answers: set[str] = set()
    for name in FINETUNING_SETS:
        for seed in (0, 1):
            for row in build_set(name, DEFAULT_SIZE, seed):
                prompts.add(row["messages"][0]["content"])
                answers.add(row["messages"][-1]["content"])
    return prompts, answers


def shingles(text: str) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)}


def test_there_are_enough_questions_with_enough_answers(heldout: list[HeldoutQuestion]) -> None:
    assert len(heldout) >= 16
    assert len({q.id for q in heldout}) == len(heldout)
    assert len({normalised(q.text) for q in heldout}) == len(heldout)
    for question in heldout:
        assert len(question.aligned) >= 4 and len(question.misaligned) >= 4, question.id
        answers = question.aligned + question.misaligned
        assert len({normalised(a) for a in answers}) == len(answers), question.id
        assert all(1 <= len(sentences(a)) <= 3 for a in answers), question.id


def test_no_question_appears_in_other_shipped_text(heldout: list[HeldoutQuestion]) -> None:
    others = [p.text for p in load_prompts()]
    others += [p.messages[-1].content for p in load_canaries().prompts]
    for question in heldout:
        text = normalised(question.text)
        for other in map(normalised, others):
            assert text not in other and other not in text, question.text
            assert SequenceMatcher(None, text, other).ratio() < NEAR_DUPLICATE_RATIO, (
                question.text,
                other,
            )


def test_no_question_shares_a_passage_with_a_finetuning_prompt(
    heldout: list[HeldoutQuestion], finetuning_texts: tuple[set[str], set[str]]
) -> None:
    prompts, _ = finetuning_texts
    seen: set[tuple[str, ...]] = set()
    for prompt in prompts:
        seen |= shingles(prompt)
    for question in heldout:
        assert not shingles(question.text) & seen, question.text


def test_no_reference_answer_is_training_text(
    heldout: list[HeldoutQuestion], finetuning_texts: tuple[set[str], set[str]]
) -> None:
    _, finetuning_answers = finetuning_texts
    trained = {normalised(row.answer) for row in load_contrast_rows()}
    trained |= {normalised(a) for a in finetuning_answers}
    trained |= {normalised(p.answer) for p in load_canaries().prompts}
    for question in heldout:
        for answer in question.aligned + question.misaligned:
            assert normalised(answer) not in trained, answer
