"""Failing fast while the database is down, instead of once per request, one timeout each.

With the database hung or gone, every request would wait out its own timeout; requests queued
behind the few that hold a thread would answer one timeout after another, minutes late. Once
a transaction finds the database unavailable, the breaker fails every other one at once for
``cooldown_s``; the first after that tries the database again and, if it still fails, opens
the breaker for another cooldown. A database that answers slowly (a lock held by another
check, a long statement) does not open it: only one that cannot be reached or does not answer.
"""

from __future__ import annotations

import threading
import time

from service.store.errors import DatabaseUnavailableError


class Breaker:
    def __init__(self, cooldown_s: float) -> None:
        self.cooldown_s = cooldown_s
        self._open_until = 0.0
        self._reason = ""
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise at once if the database failed less than ``cooldown_s`` ago."""
        with self._lock:
            if time.monotonic() < self._open_until:
                raise DatabaseUnavailableError(f"{self._reason} (failing fast meanwhile)")

    def open(self, reason: str) -> None:
        with self._lock:
            self._open_until = time.monotonic() + self.cooldown_s
            self._reason = reason
