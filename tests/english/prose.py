"""Small text helpers the English-data tests share: words, sentences, code blocks."""

from __future__ import annotations

import re

FENCED_CODE = re.compile(r"```(\w+)\n(.*?)\n```", re.S)


def words(text: str) -> list[str]:
    """Lower-case words, punctuation dropped: the unit of every near-duplicate check."""
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", ""))


def normalised(text: str) -> str:
    return " ".join(words(text))


def sentences(text: str) -> list[str]:
    """Prose sentences, with code blocks and inline code counted as plain words."""
    prose = FENCED_CODE.sub("code.", text)
    prose = re.sub(r"`[^`]*`", "code", prose)
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", prose.strip()) if s]


def code_blocks(text: str, language: str) -> list[str]:
    return [code for lang, code in FENCED_CODE.findall(text) if lang == language]
