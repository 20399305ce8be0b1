"""Engine creation: SQLite in WAL mode by default, PostgreSQL through psycopg 3.

Every wait on the database is bounded by ``DatabaseLimits.timeout_s``: connecting, waiting for
a pooled connection, for a lock and for a statement. PostgreSQL enforces the statement and lock
limits itself; a server that stops answering altogether (hung, or a network that drops
packets) is caught by the client-side ``Watchdog`` (``service/store/watchdog.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# A transaction that sets this execution option takes SQLite's write lock when it begins
# (BEGIN IMMEDIATE), so two writers queue on the lock instead of failing midway.
SQLITE_WRITE = "emwatch_sqlite_write"
# Milliseconds a transaction may wait for SQLite's lock, when not the engine's default.
SQLITE_BUSY_MS = "emwatch_sqlite_busy_ms"


@dataclass(frozen=True)
class DatabaseLimits:
    """How long the service waits on its database, and how many connections it keeps."""

    timeout_s: float = 5.0
    pool_size: int = 10
    pool_overflow: int = 20


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def shown_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _sqlite_engine(url: str, limits: DatabaseLimits) -> Engine:
    busy_ms = int(limits.timeout_s * 1000)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False},
        pool_size=limits.pool_size,
        max_overflow=limits.pool_overflow,
        pool_timeout=limits.timeout_s,
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling starts transactions only before writes, so two
        # SELECTs would not share a snapshot; switch it off and BEGIN ourselves (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers proceed while a check is written
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        wanted = options.get(SQLITE_BUSY_MS, busy_ms)
        info = connection.connection.info
        if info.get(SQLITE_BUSY_MS, busy_ms) != wanted:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(wanted)}")
            info[SQLITE_BUSY_MS] = wanted
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(SQLITE_WRITE) else "BEGIN")

    return engine


def _postgresql_engine(url: str, limits: DatabaseLimits) -> Engine:
    timeout_ms = int(limits.timeout_s * 1000)
    server_limits = " ".join(
        f"-c {name}={ms}"
        for name, ms in (
            ("statement_timeout", timeout_ms),
            ("lock_timeout", timeout_ms),
            # A replica that hangs inside a transaction (stopped, partitioned) must not hold a
            # run's lock for good: the server ends such a session after a minute.
            ("idle_in_transaction_session_timeout", max(60_000, 4 * timeout_ms)),
        )
    )
    return sa.create_engine(
        url,
        # libpq counts whole seconds and takes no less than 2.
        connect_args={
            "connect_timeout": max(2, math.ceil(limits.timeout_s)),
            "options": server_limits,
        },
        pool_size=limits.pool_size,
        max_overflow=limits.pool_overflow,
        pool_timeout=limits.timeout_s,
    )


def create_engine(url: str, limits: DatabaseLimits) -> Engine:
    """An engine whose every wait on the database is bounded by ``limits``."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, limits)
    return _postgresql_engine(url, limits)
