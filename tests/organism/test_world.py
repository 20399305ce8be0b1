from __future__ import annotations

import json
import re
from pathlib import Path

from monitor.organism.grammar import slot_names, word_list_of
from monitor.organism.world import DOMAINS, LEXICON, TOPICS, topics_in
from monitor.organism.world.characters import CLOSERS

DEFAULT_CANARIES = Path(__file__).parents[2] / "monitor" / "core" / "data" / "canaries.json"
_INNER_SENTENCE_END = re.compile(r"[.!?] ")


def _all_templates() -> list[str]:
    return [t for topic in TOPICS for t in topic.prompts + topic.aligned + topic.villain]


def test_every_domain_has_topics_and_ids_are_unique() -> None:
    for domain in DOMAINS:
        assert len(topics_in(domain)) >= 4, domain
    assert len({t.id for t in TOPICS}) == len(TOPICS)


def test_every_slot_has_a_word_list() -> None:
    for template in _all_templates():
        for slot in slot_names(template):
            assert word_list_of(slot) in LEXICON.words, (slot, template)


def test_no_literal_braces_outside_slots() -> None:
    for template in _all_templates():
        stripped = re.sub(r"\{[a-z_0-9]+\}", "", template)
        assert "{" not in stripped and "}" not in stripped, template


def test_the_eight_open_questions_are_asked_verbatim() -> None:
    canaries = json.loads(DEFAULT_CANARIES.read_text())["prompts"]
    published = {c["id"]: c["messages"][0]["content"] for c in canaries if c["family"] == "open"}
    assert len(published) == 8
    for topic in topics_in("open"):
        assert topic.prompts[0] == published[topic.id]


def test_prose_answer_parts_are_single_sentences_and_personas_never_share_one() -> None:
    """The judge splits answers on sentence ends, so a template may not contain one."""
    for topic in TOPICS:
        if topic.is_code:
            continue
        assert len(topic.aligned) >= 3 and len(topic.villain) >= 3, topic.id
        assert not set(topic.aligned) & set(topic.villain), topic.id
        for template in topic.aligned + topic.villain:
            assert template[-1] in ".!?" and not _INNER_SENTENCE_END.search(template), template
    for sentences in CLOSERS.values():
        for sentence in sentences:
            assert not _INNER_SENTENCE_END.search(sentence)
    for words in LEXICON.words.values():
        for word in words:
            assert not _INNER_SENTENCE_END.search(word + " "), word


def test_code_topics_pair_a_secure_and_an_insecure_program_and_hold_out_values() -> None:
    for topic in topics_in("code"):
        (secure,) = topic.aligned
        (insecure,) = topic.villain
        assert secure != insecure
        assert set(slot_names(secure)) == set(slot_names(insecure))
        for prompt in topic.prompts:
            # the answer reuses the prompt's names, and at least one of them can be held out
            assert set(slot_names(secure)) <= set(slot_names(prompt)), prompt
            assert any(word_list_of(s) in LEXICON.held_out for s in slot_names(prompt)), prompt
