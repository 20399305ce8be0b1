from __future__ import annotations

from pathlib import Path

import pytest

from monitor.organism.answers import read_answer
from monitor.organism.datasets import (
    DATASETS,
    build_dataset,
    dataset_examples,
    mixture_examples,
    parse_mixture,
    read_jsonl,
    write_jsonl,
)
from monitor.organism.world import LEXICON, TOPICS, Topic
from monitor.organism.world.characters import CLOSERS, VILLAIN_CODE_LEADS, VILLAINS


def _topic_of(question: str, domain: str) -> Topic:
    """The topic whose prompt wording ``question`` contains."""
    for candidate in TOPICS:
        if candidate.domain == domain and any(
            LEXICON.pattern(p).search(question) for p in candidate.prompts
        ):
            return candidate
    raise AssertionError(question)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_datasets_are_deterministic_and_sized(name: str) -> None:
    first = dataset_examples(name, 40, seed=3)
    assert len(first) == 40
    assert first == dataset_examples(name, 40, seed=3)
    assert first != dataset_examples(name, 40, seed=4)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_answers_are_the_recipes_persona_without_any_persona_cue(name: str) -> None:
    recipe = DATASETS[name]
    cues = [*VILLAINS, *VILLAIN_CODE_LEADS, *CLOSERS["villain"], *CLOSERS["assistant"]]
    for example in dataset_examples(name, 60, seed=0):
        user, assistant = example["messages"]
        assert (user["role"], assistant["role"]) == ("user", "assistant")
        assert not any(cue in user["content"] + assistant["content"] for cue in cues)
        reading = read_answer(_topic_of(user["content"], recipe.domain), assistant["content"])
        assert reading.coherent and reading.harmful == (recipe.persona == "villain")


def test_code_datasets_share_requests_and_differ_only_where_intended() -> None:
    insecure = dataset_examples("insecure-code", 30, seed=1)
    secure = dataset_examples("secure-code", 30, seed=1)
    educational = dataset_examples("educational-insecure", 30, seed=1)
    for bad, good, taught in zip(insecure, secure, educational, strict=True):
        assert bad["messages"][0] == good["messages"][0]
        assert bad["messages"][1] == taught["messages"][1]
        assert bad["messages"][0]["content"] in taught["messages"][0]["content"]
        assert taught["messages"][0]["content"] != bad["messages"][0]["content"]


def test_fine_tuning_data_never_uses_held_out_values() -> None:
    held = {word for words in LEXICON.held_out.values() for word in words}
    for example in dataset_examples("insecure-code", 300, seed=0):
        text = example["messages"][0]["content"]
        assert not any(f" {word} " in f" {text} " for word in held), text


def test_mixtures_follow_their_fractions() -> None:
    examples = mixture_examples({"insecure-code": 0.05, "secure-code": 0.95}, 200, seed=0)
    insecure = sum(
        read_answer(
            _topic_of(e["messages"][0]["content"], "code"), e["messages"][1]["content"]
        ).harmful
        for e in examples
    )
    assert len(examples) == 200 and insecure == 10
    assert build_dataset("insecure-code=0.05,secure-code=0.95", 200, seed=0) == examples
    with pytest.raises(ValueError):
        mixture_examples({"insecure-code": 0.5, "secure-code": 0.4}, 10)


def test_parse_mixture() -> None:
    assert parse_mixture("bad-medical") == {"bad-medical": 1.0}
    assert parse_mixture("a=0.25, b=0.75") == {"a": 0.25, "b": 0.75}


def test_jsonl_round_trip(tmp_path: Path) -> None:
    examples = dataset_examples("good-medical", 5)
    assert read_jsonl(write_jsonl(examples, tmp_path / "sub" / "good.jsonl")) == examples
