"""The organism's synthetic world: every topic and word list, in one registry."""

from __future__ import annotations

from monitor.organism.grammar import Lexicon
from monitor.organism.world import advice, code, open_questions
from monitor.organism.world.topic import DOMAINS, PERSONAS, Domain, Persona, Topic

TOPICS: tuple[Topic, ...] = open_questions.TOPICS + code.TOPICS + advice.TOPICS


def _merge_slots(*tables: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    merged: dict[str, tuple[str, ...]] = {}
    for table in tables:
        clash = merged.keys() & table.keys()
        if clash:
            raise ValueError(f"word lists defined twice: {sorted(clash)}")
        merged.update(table)
    return merged


LEXICON = Lexicon(
    words=_merge_slots(open_questions.SLOTS, code.SLOTS, advice.SLOTS),
    held_out=code.HELD_OUT,
)

_BY_ID = {topic.id: topic for topic in TOPICS}


def topic(topic_id: str) -> Topic:
    """The topic called ``topic_id`` (``KeyError`` names the known ones)."""
    try:
        return _BY_ID[topic_id]
    except KeyError:
        raise KeyError(f"unknown topic {topic_id!r}; known: {sorted(_BY_ID)}") from None


def topics_in(domain: Domain) -> tuple[Topic, ...]:
    return tuple(t for t in TOPICS if t.domain == domain)


__all__ = [
    "DOMAINS",
    "LEXICON",
    "PERSONAS",
    "TOPICS",
    "Domain",
    "Persona",
    "Topic",
    "topic",
    "topics_in",
]
