"""Bringing a database to the current schema with Alembic, or refusing it.

``emwatch serve`` (and every service process) calls ``prepare_schema`` on start:

- an empty database gets every revision from ``0001``;
- an older emwatch database is upgraded, in one transaction, and says so in the log. A database
  from emwatch 0.1.0 has no ``alembic_version`` table, only ``schema_version`` = 1 (the first
  revision exactly), and is stamped ``0001`` first; one from before ``schema_version`` existed
  holds the same tables and is stamped likewise;
- a database written by a newer emwatch (a version or revision this one does not know) is
  refused with a ``DatabaseError`` and left untouched.

Replicas starting together take PostgreSQL's advisory lock (SQLite: its write lock), so one of
them upgrades and the others find the work done.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from service.store.database import SQLITE_WRITE, DatabaseLimits, create_engine, shown_url
from service.store.errors import DatabaseError
from service.store.tables import SCHEMA_VERSION, schema_version

log = logging.getLogger("emwatch.service")

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST_REVISION = "0001"  # the schema emwatch 0.1.0 created, stamped schema_version 1
_UPGRADE_LOCK = 0x656D7761746368  # "emwatch": PostgreSQL advisory lock key for upgrades


def alembic_config(connection: Connection) -> Config:
    """Alembic, told where the revisions are and which connection to run them on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def _known_revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def _stamped_version(connection: Connection, tables: set[str]) -> int | None:
    if "schema_version" not in tables:
        return None
    versions = connection.execute(sa.select(schema_version.c.version)).scalars().all()
    return max(versions) if versions else None


def _refuse(engine: Engine, version: int | str) -> DatabaseError:
    return DatabaseError(
        f"the database {shown_url(engine)} holds emwatch schema version {version}, and this "
        f"emwatch uses version {SCHEMA_VERSION}: run the emwatch that wrote it, or point "
        "--database-url (EMWATCH_DATABASE_URL) at another database"
    )


def _starting_revision(engine: Engine, connection: Connection) -> str | None:
    """The revision the database is at (None: empty), stamping a 0.1.0 database as 0001."""
    tables = set(sa.inspect(connection).get_table_names())
    version = _stamped_version(connection, tables)
    if version is not None and version > SCHEMA_VERSION:
        raise _refuse(engine, version)
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None:
        if revision not in _known_revisions():
            raise _refuse(engine, f"{version} (revision {revision})")
        return revision
    if "runs" not in tables:
        return None
    if version is None:  # from before schema_version: the very tables of 0.1.0
        schema_version.create(connection, checkfirst=True)
        connection.execute(schema_version.insert().values(version=1))
    elif version != 1:
        raise _refuse(engine, version)
    command.stamp(alembic_config(connection), FIRST_REVISION)
    return FIRST_REVISION


def prepare_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the head revision; refuse a newer one, touching nothing."""
    with engine.connect().execution_options(**{SQLITE_WRITE: True}) as connection:
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_UPGRADE_LOCK)))
            start = _starting_revision(engine, connection)
            head = head_revision()
            if start == head:
                return
            command.upgrade(alembic_config(connection), "head")
        if start is not None:
            log.warning(
                "upgraded the database %s from revision %s to %s (schema version %d)",
                shown_url(engine),
                start,
                head,
                SCHEMA_VERSION,
            )


def connect(url: str, limits: DatabaseLimits | None = None) -> Engine:
    """An engine on a database whose schema is current: new ones are created, older emwatch
    schemas upgraded; one written by a newer emwatch is refused, untouched."""
    engine = create_engine(url, limits or DatabaseLimits())
    try:
        prepare_schema(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc  # the driver's own message where there is one
        raise DatabaseError(f"cannot use the database {shown_url(engine)}: {reason}") from exc
    except DatabaseError:
        engine.dispose()
        raise
    return engine
