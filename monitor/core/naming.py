"""Run names: one rule, checked by the client before sending and by the service on receipt.

Names appear in URLs, file names (the spool) and Prometheus labels, so they are restricted to
characters that are safe in all three.
"""

from __future__ import annotations

import re

RUN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
RUN_NAME_RULE = (
    "1-128 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
)


def check_run_name(name: str) -> str:
    if not re.fullmatch(RUN_NAME_PATTERN, name):
        raise ValueError(f"invalid run name {name!r}: use {RUN_NAME_RULE}")
    return name
