from __future__ import annotations

import random

import pytest

from monitor.organism.grammar import Lexicon, fill, slot_names, word_list_of

LEXICON = Lexicon(
    words={"colour": ("red", "dark blue", "green"), "animal": ("cat", "dog", "owl", "fox")},
    held_out={"animal": frozenset({"owl", "fox"})},
)


def test_slot_names_keep_suffixes_and_share_word_lists() -> None:
    template = "A {colour} {animal} and a {animal_2}."
    assert slot_names(template) == ["colour", "animal", "animal_2"]
    assert word_list_of("animal_2") == "animal"


def test_fill_replaces_every_hole() -> None:
    assert fill("{colour} {animal}!", {"colour": "red", "animal": "cat"}) == "red cat!"


def test_splits_partition_held_out_values() -> None:
    train = set(LEXICON.choices("animal", "train"))
    held = set(LEXICON.choices("animal", "eval"))
    assert train == {"cat", "dog"}
    assert held == {"owl", "fox"}
    assert set(LEXICON.choices("animal", "all")) == train | held
    assert LEXICON.choices("colour", "eval") == LEXICON.words["colour"]  # nothing held out


def test_draw_respects_fixed_values_and_split() -> None:
    rng = random.Random(0)
    for _ in range(50):
        values = LEXICON.draw("{colour} {animal}", rng, "eval", fixed={"colour": "green"})
        assert values["colour"] == "green"
        assert values["animal"] in {"owl", "fox"}


def test_pattern_matches_exactly_the_renderings() -> None:
    template = "A {colour} {animal} met a {animal_2}."
    rng = random.Random(1)
    for _ in range(50):
        assert LEXICON.matches(template, LEXICON.render(template, rng))
    assert not LEXICON.matches(template, "A purple cat met a dog.")
    assert not LEXICON.matches(template, "A red cat met a dog")  # missing full stop
    assert not LEXICON.matches(template, "A red cat met a dog. And more.")


def test_regex_metacharacters_in_templates_are_literal() -> None:
    template = 'f("{colour}", (x,)) * 2'
    assert LEXICON.matches(template, 'f("red", (x,)) * 2')
    assert not LEXICON.matches(template, 'f("red", x,) * 2')


def test_unknown_slot_name_is_an_error() -> None:
    with pytest.raises(ValueError):
        word_list_of("Not A Slot")
