"""Canary prompt sets: the fixed conversations a check runs through the model.

Each prompt is a chat (``messages``) plus either a fixed reference ``answer`` (teacher-forced:
deterministic and cheap, the default) or ``null`` to let the model generate its own answer at
each check. The set's hash travels with every check, so the service never compares activations
taken on different prompts.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class CanaryPrompt(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    family: str = "other"
    messages: list[Message] = Field(min_length=1)
    answer: str | None = Field(default=None, description="None: the model generates it.")

    @model_validator(mode="after")
    def _ends_with_user(self) -> CanaryPrompt:
        if self.messages[-1].role != "user":
            raise ValueError(f"prompt {self.id!r} must end with a user message")
        if self.answer is not None and not self.answer.strip():
            raise ValueError(f"prompt {self.id!r} has an empty answer; use null to generate")
        return self


class CanarySet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = 1
    description: str = ""
    prompts: list[CanaryPrompt] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> CanarySet:
        ids = [prompt.id for prompt in self.prompts]
        if len(set(ids)) != len(ids):
            raise ValueError("canary prompt ids must be unique")
        return self

    def content_hash(self) -> str:
        """sha256 of the prompts and answers (not the description): the prompt-set identity."""
        payload = [prompt.model_dump(mode="json") for prompt in self.prompts]
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_canaries(path: str | Path | None = None) -> CanarySet:
    """Load a canary set from JSON; no path gives the shipped default (16 prompts)."""
    if path is None:
        text = resources.files("monitor.core").joinpath("data/canaries.json").read_text()
        source = "the default canary set"
    else:
        text, source = Path(path).read_text(), str(path)
    try:
        return CanarySet.model_validate_json(text)
    except ValidationError as exc:
        raise ValueError(f"{source} is not a valid canary set: {exc}") from exc
