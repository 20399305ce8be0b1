"""Tokens as read from the database, kept for a few seconds, so that a request does not pay a
database round trip (and a worker thread) just to find its token.

Only the stored record is cached (id, scopes, hash of the secret, revocation); every request's
secret is still checked against it. Revoking a token drops it from this process's cache at
once; other replicas notice within ``ttl_s`` (EMWATCH_TOKEN_CACHE_S; 0 turns caching off).
"""

from __future__ import annotations

import threading
import time

from service.store.records import TokenRecord


class TokenCache:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._records: dict[str, tuple[float, TokenRecord]] = {}
        self._lock = threading.Lock()

    def get(self, token_id: str) -> TokenRecord | None:
        with self._lock:
            found = self._records.get(token_id)
        if found is None or time.monotonic() - found[0] > self.ttl_s:
            return None
        return found[1]

    def put(self, record: TokenRecord) -> None:
        if self.ttl_s > 0:
            with self._lock:
                self._records[record.token_id] = (time.monotonic(), record)

    def forget(self, token_id: str) -> None:
        with self._lock:
            self._records.pop(token_id, None)
