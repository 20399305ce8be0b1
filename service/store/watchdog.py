"""A client-side deadline for database transactions: the answer to a server that hangs.

PostgreSQL enforces ``statement_timeout`` itself, so a server that is stopped, swapped out or
cut off by the network never sends the error, and the driver waits on its socket for good. The
watchdog is one thread that looks at the open transactions a few times a second and shuts down
the socket of any that outlived its deadline: the blocked driver call fails at once, SQLAlchemy
discards the connection, and the request answers 503 instead of holding a worker forever.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Watch:
    """One transaction under watch; ``expired`` tells its caller the watchdog ended it."""

    fileno: int
    deadline: float
    expired: bool = False


def _shut_down(fileno: int) -> None:
    """Shut the socket down (not close it: the driver still owns the descriptor)."""
    try:
        duplicate = socket.socket(fileno=os.dup(fileno))
    except OSError:
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()


class Watchdog:
    def __init__(self, resolution_s: float = 0.2) -> None:
        self.resolution_s = resolution_s
        self._by_id: dict[int, Watch] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, fileno: int, seconds: float) -> Iterator[Watch]:
        watch = Watch(fileno, time.monotonic() + seconds)
        with self._lock:
            self._by_id[id(watch)] = watch
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="emwatch-db-watchdog", daemon=True
                )
                self._thread.start()
        try:
            yield watch
        finally:
            # Under the lock: once this returns the watchdog never touches this socket again,
            # so the descriptor cannot be reused by another connection under its feet.
            with self._lock:
                del self._by_id[id(watch)]

    def _run(self) -> None:
        while True:
            time.sleep(self.resolution_s)
            now = time.monotonic()
            with self._lock:
                for watch in self._by_id.values():
                    if not watch.expired and watch.deadline < now:
                        watch.expired = True  # the request logs it, once, as a 503
                        _shut_down(watch.fileno)
