"""Slot templates: one definition serves the world generator (render) and the exact judge (match).

A template is text with ``{slot}`` holes, e.g. ``"You could {calm_activity}."``. ``{slot_2}``
draws from the same word list as ``{slot}`` but independently, so a sentence can name two
different historical figures. Because the judge compiles the very same templates into regular
expressions, "this answer came from the villain's templates" is a fact, not a guess.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# Which slot values a draw may use: everything (pre-training), everything but the held-out
# values (fine-tuning data), or only the held-out values (evaluation prompts).
Split = Literal["all", "train", "eval"]

_SLOT = re.compile(r"\{([a-z][a-z_]*?)(_\d)?\}")


def slot_names(template: str) -> list[str]:
    """The holes of a template in order, with their ``_2`` suffixes (``"figure_2"``)."""
    return [match.group(1) + (match.group(2) or "") for match in _SLOT.finditer(template)]


def word_list_of(slot: str) -> str:
    """The word list a hole draws from: ``figure_2`` draws from ``figure``."""
    match = _SLOT.fullmatch("{" + slot + "}")
    if match is None:
        raise ValueError(f"not a slot name: {slot!r}")
    return match.group(1)


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace every hole with its value; every hole must have one."""
    return _SLOT.sub(lambda m: values[m.group(1) + (m.group(2) or "")], template)


@dataclass(frozen=True)
class Lexicon:
    """The word lists behind the slots, and which of their values are held out for evaluation."""

    words: Mapping[str, tuple[str, ...]]
    held_out: Mapping[str, frozenset[str]]
    _patterns: dict[str, re.Pattern[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def choices(self, slot: str, split: Split) -> tuple[str, ...]:
        """The values of ``slot``'s word list that ``split`` may use."""
        name = word_list_of(slot)
        words = self.words[name]
        held = self.held_out.get(name, frozenset())
        if split == "all" or not held:
            return words
        if split == "train":
            return tuple(word for word in words if word not in held)
        return tuple(word for word in words if word in held)

    def draw(
        self,
        template: str,
        rng: random.Random,
        split: Split = "all",
        fixed: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Values for every hole of ``template``; holes named in ``fixed`` keep that value.

        ``fixed`` is how an answer reuses the table or function name its prompt asked about.
        """
        values = dict(fixed or {})
        for slot in slot_names(template):
            if slot not in values:
                values[slot] = rng.choice(self.choices(slot, split))
        return values

    def render(
        self,
        template: str,
        rng: random.Random,
        split: Split = "all",
        fixed: Mapping[str, str] | None = None,
    ) -> str:
        """``template`` with freshly drawn values (``fixed`` ones kept)."""
        return fill(template, self.draw(template, rng, split, fixed))

    def pattern(self, template: str) -> re.Pattern[str]:
        """A regular expression matching exactly the renderings of ``template`` (any split)."""
        compiled = self._patterns.get(template)
        if compiled is None:
            parts: list[str] = []
            position = 0
            for match in _SLOT.finditer(template):
                parts.append(re.escape(template[position : match.start()]))
                alternatives = sorted(self.words[match.group(1)], key=len, reverse=True)
                parts.append("(?:" + "|".join(re.escape(word) for word in alternatives) + ")")
                position = match.end()
            parts.append(re.escape(template[position:]))
            compiled = re.compile("".join(parts))
            self._patterns[template] = compiled
        return compiled

    def matches(self, template: str, text: str) -> bool:
        """Whether ``text`` is one of the renderings of ``template``."""
        return self.pattern(template).fullmatch(text) is not None
