"""Engine creation: SQLite in WAL mode by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.store.tables import SCHEMA_VERSION, metadata, schema_version


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers (dashboards, /metrics) proceed while a check is being written."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class DatabaseError(RuntimeError):
    """The database cannot be used: unreachable, or written by another emwatch schema."""


def connect(url: str) -> Engine:
    """Create the engine and the schema (idempotent), refusing a schema of another version."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        metadata.create_all(engine)
        _check_schema_version(engine, shown)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc  # the driver's own message where there is one
        raise DatabaseError(f"cannot use the database {shown}: {reason}") from exc
    except DatabaseError:
        engine.dispose()
        raise
    return engine


def _check_schema_version(engine: Engine, shown: str) -> None:
    """Stamp a new database (or one from before versioning, which has these very tables)
    with ``SCHEMA_VERSION``; refuse one stamped with another version, touching nothing."""
    with engine.begin() as connection:
        versions = connection.execute(sa.select(schema_version.c.version)).scalars().all()
        if not versions:
            connection.execute(schema_version.insert().values(version=SCHEMA_VERSION))
            return
    if versions != [SCHEMA_VERSION]:
        raise DatabaseError(
            f"the database {shown} holds emwatch schema version {max(versions)}, and this "
            f"emwatch uses version {SCHEMA_VERSION}: run the emwatch that wrote it, or point "
            "--database-url (EMWATCH_DATABASE_URL) at another database"
        )
