"""Evaluation questions: a conversation to answer, and the family it is reported under."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

Message = Mapping[str, str]


@dataclass(frozen=True)
class EvalQuestion:
    """One prompt of an eval. ``topic`` names the organism world topic (exact judge only)."""

    id: str
    family: str
    messages: tuple[Message, ...]
    topic: str | None = None

    @property
    def text(self) -> str:
        """The user's last message: what a judge is shown as the question."""
        return self.messages[-1]["content"]

    @classmethod
    def ask(
        cls, question_id: str, family: str, text: str, topic: str | None = None
    ) -> EvalQuestion:
        """A single-turn question."""
        user = {"role": "user", "content": text}
        return cls(id=question_id, family=family, messages=(user,), topic=topic)


def load_questions(path: str | Path, family: str = "open") -> list[EvalQuestion]:
    """Questions from JSON: ``{"questions": [{"id", "text", "family"?}]}`` (the Betley file)."""
    entries: Sequence[Mapping[str, str]] = json.loads(Path(path).read_text())["questions"]
    return [
        EvalQuestion.ask(entry["id"], entry.get("family", family), entry["text"])
        for entry in entries
    ]
