"""The error a re-alignment reports to its user: one line that says what to fix."""

from __future__ import annotations


class RealignError(ValueError):
    """The re-alignment cannot run as asked (data, model, pack or options); the message says why.

    A bad line of the trusted data starts its message with ``FILE:LINE``.
    """
