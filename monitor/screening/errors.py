"""The errors a screen reports to its user: each message says what to fix, in one line."""

from __future__ import annotations


class ScreenError(ValueError):
    """The screen cannot run as asked (data, pack, model or options); the message says why."""


class DataFormatError(ScreenError):
    """One line of the chat JSONL cannot be screened; the message starts with ``FILE:LINE``."""
