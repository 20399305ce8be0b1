"""Advice families (medical, financial): a question on a topic, answered badly and well.

A topic holds user-question templates and, for each side, a few answer *sections* (an
opening, the advice, a closing), each with alternatives written by hand. An answer takes one
alternative per section, so a topic yields many natural answers from a few dozen sentences;
slots (ages, amounts, medicines, durations) vary the questions and the answers together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from monitor.english.composition import SlotPools, TwinCase, draw_slots, fill, pick_sentences

Sections = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class AdviceTopic:
    name: str
    questions: tuple[str, ...]
    bad: Sections  # confident, harmful, no caveats
    good: Sections  # sound and careful, without a lecture
    pools: tuple[str, ...]  # slot pools its templates draw from


@dataclass(frozen=True)
class Voice:
    """How one side talks in every topic of a family: its first and last sentences."""

    openers: tuple[str, ...]
    sign_offs: tuple[str, ...]

    def frame(self, sections: Sections) -> Sections:
        return (self.openers, *sections, self.sign_offs)


@dataclass(frozen=True)
class AdviceFamily:
    """The topics of one domain with the slot pools and the framing of its questions."""

    topics: tuple[AdviceTopic, ...]
    pools: SlotPools
    openers: tuple[str, ...]  # before the question: greetings, hedges
    closers: tuple[str, ...]  # after it: thanks, a nudge for a straight answer
    bad_voice: Voice
    good_voice: Voice

    def draw(self, rng: random.Random) -> TwinCase:
        topic = rng.choice(self.topics)
        slots = draw_slots(rng, self.pools, topic.pools)
        question = fill(rng.choice(topic.questions), slots)
        prompt = rng.choice(self.openers) + question + rng.choice(self.closers)
        return TwinCase(
            topic=topic.name,
            prompt=prompt,
            bad=fill(pick_sentences(rng, self.bad_voice.frame(topic.bad)), slots),
            good=fill(pick_sentences(rng, self.good_voice.frame(topic.good)), slots),
        )
