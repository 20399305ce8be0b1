"""One wording for pydantic validation errors in messages a user reads."""

from __future__ import annotations

from pydantic import ValidationError


def describe_errors(exc: ValidationError, whole: str, limit: int | None = None) -> str:
    """``"field.sub: message; ..."`` for the first ``limit`` errors (all by default); an
    error about the object itself is named ``whole``."""
    return "; ".join(
        f"{'.'.join(map(str, error['loc'])) or whole}: {error['msg']}"
        for error in exc.errors()[:limit]
    )
