"""What the store raises, so callers can tell a refused database from a lost race."""

from __future__ import annotations


class DatabaseError(RuntimeError):
    """The database cannot be used: unreachable, or written by another emwatch schema."""


class DuplicateKeyError(Exception):
    """A row with this key already exists (another request won the race)."""


class UnknownRunError(LookupError):
    """No run has this name (it may have been deleted since the request began)."""


class DatabaseUnavailableError(Exception):
    """The database did not answer in time, refused the connection or is locked: the request
    changed nothing and may be retried. ``reason`` is for the log, never for the client.

    ``down``: what the failure says about the database, for ``Breaker``: "all" (unreachable
    or not answering), "writes" (locked by another writer), "" (busy with this request only).
    """

    def __init__(self, reason: str, down: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.down = down


class LastAdminTokenError(Exception):
    """Revoking this token would leave no live admin token, and nobody could manage tokens."""
