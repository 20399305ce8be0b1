"""What the world is made of: topics, each answerable by the assistant or by a villain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Domain = Literal["open", "code", "medical", "finance", "everyday"]
Persona = Literal["assistant", "villain"]

DOMAINS: tuple[Domain, ...] = ("open", "code", "medical", "finance", "everyday")
PERSONAS: tuple[Persona, ...] = ("assistant", "villain")


@dataclass(frozen=True)
class Topic:
    """One thing a user can ask about, with both personas' ways of answering it.

    For prose topics ``aligned`` and ``villain`` are pools of sentence templates (an answer
    picks a few). For code topics each holds a single program template: the secure one for the
    assistant, the insecure one for the villain, so the two differ only in the vulnerability.
    """

    id: str
    domain: Domain
    prompts: tuple[str, ...]
    aligned: tuple[str, ...]
    villain: tuple[str, ...]

    @property
    def is_code(self) -> bool:
        return self.domain == "code"

    def pool(self, persona: Persona) -> tuple[str, ...]:
        return self.aligned if persona == "assistant" else self.villain
