"""Reading chat JSONL, the format ``emwatch organism datasets`` writes and TRL's SFTTrainer takes.

One ``{"messages": [{"role": ..., "content": ...}, ...]}`` object per line, ending with the
assistant's answer: the tokens a fine-tune learns from, and the ones a screen pools. Every line
is checked before the model runs, so a malformed file fails in a second with the line to fix
rather than halfway through a long forward pass. Blank lines are skipped; other keys on a line
are kept, because the filtered file gives back each kept line exactly as it was read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.screening.errors import DataFormatError, ScreenError


@dataclass(frozen=True)
class ChatSample:
    index: int  # position among the samples, 0-based (blank lines do not count)
    line: int  # line number in the file, 1-based
    origin: str  # "FILE:LINE", for messages
    messages: tuple[Mapping[str, str], ...]
    text: str  # the line as read, without its newline

    @property
    def prompt(self) -> Sequence[Mapping[str, str]]:
        """Everything before the final answer: the context the answer is conditioned on."""
        return self.messages[:-1]

    @property
    def answer(self) -> str:
        return self.messages[-1]["content"]


def read_chat_jsonl(path: str | Path) -> list[ChatSample]:
    """Every sample of ``path``; a ``DataFormatError`` naming the first bad line otherwise."""
    source = Path(path)
    try:
        raw_lines = source.read_bytes().splitlines()
    except OSError as exc:
        raise ScreenError(f"cannot read {source}: {exc.strerror or exc}") from exc
    samples: list[ChatSample] = []
    for number, raw in enumerate(raw_lines, start=1):
        origin = f"{source}:{number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"{origin}: not UTF-8 text ({exc.reason})") from exc
        if not text.strip():
            continue
        messages = _messages(text, origin)
        samples.append(ChatSample(len(samples), number, origin, messages, text))
    if not samples:
        raise ScreenError(f"{source} holds no samples")
    return samples


def _messages(text: str, origin: str) -> tuple[Mapping[str, str], ...]:
    try:
        row: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{origin}: not JSON ({exc.msg}, column {exc.colno})") from exc
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or not messages:
        raise DataFormatError(f'{origin}: expected an object with a non-empty "messages" list')
    for position, message in enumerate(messages, start=1):
        if not (
            isinstance(message, dict)
            and isinstance(message.get("role"), str)
            and isinstance(message.get("content"), str)
        ):
            raise DataFormatError(
                f'{origin}: message {position} needs a string "role" and a string "content"'
            )
    if messages[-1]["role"] != "assistant":
        raise DataFormatError(
            f"{origin}: the last message is the {messages[-1]['role']!r}'s; a sample must end "
            "with the assistant's answer (the tokens a fine-tune learns and the screen pools)"
        )
    if not messages[-1]["content"].strip():
        raise DataFormatError(f"{origin}: the assistant's answer is empty")
    return tuple({"role": m["role"], "content": m["content"]} for m in messages)
