"""Running one unit of work as one database transaction, with every wait bounded.

Every read and write of the store goes through ``Transactions.run``. It

- begins a write transaction with the write lock already taken on SQLite (``BEGIN IMMEDIATE``),
  and multi-statement reads in one snapshot (``REPEATABLE READ`` on PostgreSQL, a deferred
  ``BEGIN`` in WAL mode on SQLite);
- puts the transaction under the ``Watchdog``'s deadline on PostgreSQL;
- runs the work once more on a fresh connection when the first failed only because its pooled
  connection had died (the server restarted): the work is a whole transaction, so repeating it
  is safe;
- turns "the database cannot answer now" (refused, timed out, locked, hung) into
  ``DatabaseUnavailableError``, which the app answers with 503 and ``Retry-After``, and then
  fails fast for a second (``Breaker``) rather than letting every request wait its timeout.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.store.breaker import Breaker
from service.store.database import SQLITE_BUSY_MS, SQLITE_WRITE, DatabaseLimits
from service.store.errors import DatabaseUnavailableError
from service.store.watchdog import Watch, Watchdog

T = TypeVar("T")

# Errors that say the database cannot be used right now, not that the request is wrong.
_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError)


def _down(exc: sa.exc.DBAPIError) -> str:
    """What an error says about the database (see ``DatabaseUnavailableError.down``)."""
    original = exc.orig
    if isinstance(original, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
        return ""  # it answered: this statement waited too long (for a lock, or to finish)
    if isinstance(original, sqlite3.OperationalError) and "locked" in str(original):
        return "writes"  # another process holds the write lock; readers go on (WAL)
    return "all"


def _reason(exc: Exception) -> str:
    original = getattr(exc, "orig", None) or exc
    first_line = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first_line}"


class Transactions:
    def __init__(self, engine: Engine, limits: DatabaseLimits) -> None:
        self.engine = engine
        self.limits = limits
        self.postgresql = engine.dialect.name == "postgresql"
        self.watchdog = Watchdog()
        self._breakers = {write: Breaker(cooldown_s=1.0) for write in (False, True)}
        self._sqlite_writer = None if self.postgresql else threading.Lock()

    def run(
        self,
        work: Callable[[Connection], T],
        *,
        write: bool = False,
        snapshot: bool = False,
        single_statement: bool = False,
        timeout_s: float | None = None,
    ) -> T:
        """``work(connection)`` inside one transaction, committed if it returns.

        ``write``: the work writes (SQLite takes its write lock at BEGIN). ``snapshot``: the
        work reads with several statements that must see one state. ``single_statement``: the
        work is one read, which PostgreSQL runs without BEGIN and COMMIT (two round trips
        fewer). ``timeout_s``: a shorter bound than the service's (readiness probes).
        """
        timeout = timeout_s or self.limits.timeout_s
        options: dict[str, object] = {}
        if write:
            options[SQLITE_WRITE] = True
        if timeout != self.limits.timeout_s:
            options[SQLITE_BUSY_MS] = int(timeout * 1000)
        if self.postgresql and snapshot:
            options["isolation_level"] = "REPEATABLE READ"
        elif self.postgresql and single_statement:
            options["isolation_level"] = "AUTOCOMMIT"
        self._breakers[write].check()
        try:
            with self._writer_turn(write, timeout):
                return self._attempt_twice(work, options, timeout)
        except DatabaseUnavailableError as exc:
            for breaker in {"all": (False, True), "writes": (True,), "": ()}[exc.down]:
                self._breakers[breaker].open(exc.reason)
            raise

    @contextmanager
    def _writer_turn(self, write: bool, timeout: float) -> Iterator[None]:
        """SQLite has one writer at a time. Writers of this process queue here, in order,
        instead of polling SQLite's lock (its busy handler sleeps up to 100 ms per try)."""
        if not write or self._sqlite_writer is None:
            yield
            return
        if not self._sqlite_writer.acquire(timeout=timeout):
            raise DatabaseUnavailableError(f"no write turn within {timeout:g} s", down="writes")
        try:
            yield
        finally:
            self._sqlite_writer.release()

    def _attempt_twice(
        self, work: Callable[[Connection], T], options: dict[str, object], timeout: float
    ) -> T:
        for attempt in (1, 2):
            watch: Watch | None = None
            try:
                with self.engine.connect().execution_options(**options) as connection:
                    if self.postgresql:
                        driver: Any = connection.connection.dbapi_connection
                        with (
                            self.watchdog.watch(driver.fileno(), timeout) as watch,
                            connection.begin(),
                        ):
                            return work(connection)
                    with connection.begin():
                        return work(connection)
            except sa.exc.DBAPIError as exc:
                expired = watch is not None and watch.expired
                if expired:
                    raise DatabaseUnavailableError(
                        f"no answer within {timeout:g} s; connection dropped", down="all"
                    ) from exc
                if exc.connection_invalidated and attempt == 1:
                    continue  # a pooled connection from before a restart: once more, fresh
                if isinstance(exc, _UNAVAILABLE):
                    raise DatabaseUnavailableError(_reason(exc), _down(exc)) from exc
                raise
            except sa.exc.TimeoutError as exc:  # no pooled connection came free in time
                raise DatabaseUnavailableError(_reason(exc), down="all") from exc
        raise AssertionError("unreachable: the second attempt returns or raises")
