"""Schema migrations: from the first released schema, with the data the release wrote, to now.

``data/schema_v1.*.sql`` is the DDL emwatch 0.1.0's ``metadata.create_all`` emitted, and
``data/released_v1.*.sql`` the rows its service stored (``data/make_released_databases.py``
wrote them by running the release). A service must upgrade such a database and carry on with
its runs as if it had always been the current one; refuse a newer one; never lose data.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import torch
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from monitor.cli.main import main
from monitor.core.wire import encode_check
from monitor.trainer.client import EmwatchClient
from service.store import DatabaseError, connect
from service.store.schema import FIRST_REVISION, alembic_config, head_revision
from service.store.tables import SCHEMA_VERSION, metadata
from tests.factories import HOOKS, direction_vector, make_check
from tests.servers import ADMIN_TOKEN, free_port, running_service
from tests.service.conftest import postgres_database

DATA = Path(__file__).parent / "data"


def raw_engine(url: str) -> sa.Engine:
    """An engine with no schema handling, to set databases up as other versions left them."""
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def dialect(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def run_sql(url: str, *files: str, skip: str | None = None) -> None:
    """Execute SQL files as the release's own tools would (SQLite: foreign keys off, as the
    dump's table order is alphabetical)."""
    script = "\n".join((DATA / name).read_text() for name in files)
    if skip:
        script = ";\n".join(s for s in script.split(";\n") if skip not in s)
    if dialect(url) == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.executescript(script)
        return
    engine = raw_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(script)
    engine.dispose()


def released_database(url: str) -> None:
    name = dialect(url)
    run_sql(url, f"schema_v1.{name}.sql", f"released_v1.{name}.sql")


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = raw_engine(url)
    with engine.connect() as connection:
        found = [tuple(row) for row in connection.exec_driver_sql(query)]
    engine.dispose()
    return found


def described_schema(url: str) -> dict[str, Any]:
    """Tables, columns (type, nullability, key), foreign keys and indexes, as reflected."""
    engine = raw_engine(url)
    inspector = sa.inspect(engine)
    schema = {
        table: {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"])
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
            ),
        }
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }
    engine.dispose()
    return schema


def test_a_new_database_gets_every_revision_and_matches_the_tables(database_url: str) -> None:
    connect(database_url).dispose()
    connect(database_url).dispose()  # opening it again changes nothing
    assert rows(database_url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert rows(database_url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    engine = raw_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []  # service/store/tables.py is what the migrations build


def test_the_first_revision_is_the_released_schema(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with (
        postgres_database(request.getfixturevalue("postgres_url"))
        if dialect(database_url) == "postgresql"
        else nullcontext(f"sqlite:///{tmp_path / 'released.db'}")
    ) as released:
        run_sql(released, f"schema_v1.{dialect(database_url)}.sql")
        engine = raw_engine(database_url)
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), FIRST_REVISION)
        engine.dispose()
        assert described_schema(database_url) == described_schema(released)
        assert rows(database_url, "SELECT version FROM schema_version") == [(1,)]


def test_a_released_database_upgrades_and_keeps_its_data(database_url: str) -> None:
    released_database(database_url)
    counts = {
        table: rows(database_url, f"SELECT count(*) FROM {table}")
        for table in (
            "tokens",
            "probe_packs",
            "runs",
            "checks",
            "scores",
            "alerts",
            "notifications",
        )
    }
    states = dict(
        rows(database_url, "SELECT name, detector_state FROM runs WHERE detector_state IS NOT NULL")
    )
    connect(database_url).dispose()
    assert rows(database_url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    for table, count in counts.items():
        assert rows(database_url, f"SELECT count(*) FROM {table}") == count, table
    upgraded = rows(
        database_url,
        "SELECT r.name, r.baseline_step, r.n_prompts, r.created_by, c.detector_state "
        "FROM runs r LEFT JOIN checks c ON c.run_id = r.run_id AND c.step = r.last_step "
        "ORDER BY r.name",
    )
    assert [row[0] for row in upgraded] == ["released-drift", "released-empty", "released-finished"]
    for name, baseline_step, n_prompts, created_by, state in upgraded:
        old = states.get(name)
        if isinstance(old, str):  # a raw engine returns SQLite's JSON as text
            old, state = json.loads(old), json.loads(state) if state else None
        assert state == old  # the run's state moved to its latest check
        assert baseline_step == (old["baseline_step"] if old else None)
        assert n_prompts == (6 if old else None)
        assert created_by is None


def _drift(step: int) -> dict[str, torch.Tensor]:
    v = direction_vector(0)
    return {HOOKS[0]: (step / 10) * 3.0 * v / v.norm()}


def _send(client: EmwatchClient, run: str, steps: list[int]) -> None:
    for step in steps:
        client.send_check(run, encode_check(make_check(run, step, shift=_drift(step))))


def _outcome(client: EmwatchClient, run: str) -> tuple[object, ...]:
    points = client.scores(run)["points"]
    alerts = client.alerts(run)["alerts"]
    return (
        [(p["step"], p["hook_point"], p["feature"], round(p["zscore"], 9)) for p in points],
        [(p["step"], round(p["cusum"], 9)) for p in points],
        [(a["id"], a["state"], a["firing_step"], a["resolved_step"]) for a in alerts],
    )


def test_the_service_carries_on_with_an_upgraded_database(
    database_url: str, tmp_path: Path
) -> None:
    """Runs stored by the release go on exactly as a run that always lived on this version:
    a next check continues its CUSUM, a late check and a resume replay across checks stored
    before the upgrade (which carry no detector state)."""
    released_database(database_url)
    kwargs: dict[str, Any] = {}
    if dialect(database_url) == "postgresql":
        kwargs["database_url"] = database_url
    else:
        (tmp_path / "data").mkdir()
        Path(database_url.removeprefix("sqlite:///")).rename(tmp_path / "data" / "emwatch.db")
    with (
        running_service(tmp_path / "data", **kwargs) as service,
        EmwatchClient(service.url, ADMIN_TOKEN) as client,
    ):
        client.create_run({"name": "fresh", "probe_pack": "released-pack"})
        released_steps = [0, 10, 20, 30, 40, 50, 60, 70]
        _send(client, "fresh", released_steps)
        assert _outcome(client, "released-drift") == _outcome(client, "fresh")
        _send(client, "released-drift", [80])  # after the migrated state
        _send(client, "fresh", [80])
        assert _outcome(client, "released-drift") == _outcome(client, "fresh")
        _send(client, "released-drift", [35])  # before any stored state: a full replay
        client.create_run({"name": "fresh-late", "probe_pack": "released-pack"})
        _send(client, "fresh-late", [0, 10, 20, 30, 35, 40, 50, 60, 70, 80])
        assert _outcome(client, "released-drift") == _outcome(client, "fresh-late")
        resumed = httpx.post(
            f"{service.url}/v1/runs/released-drift/resume",
            json={"from_step": 40},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        ).json()
        assert resumed["superseded"] == 4 and resumed["last_step"] == 40
        client.create_run({"name": "fresh-short", "probe_pack": "released-pack"})
        _send(client, "fresh-short", [0, 10, 20, 30, 35, 40])
        assert _outcome(client, "released-drift") == _outcome(client, "fresh-short")
        finished = client.get_run("released-finished")
        assert (finished["status"], finished["n_checks"], finished["resumes"]) == (
            "finished",
            3,
            [],
        )
        assert 'emwatch_run_info{model_id="",probe_pack="released-pack",run="released-drift"}' in (
            httpx.get(f"{service.url}/metrics").text
        )


def test_a_database_from_before_versioning_is_stamped_and_upgraded(database_url: str) -> None:
    name = dialect(database_url)
    run_sql(database_url, f"schema_v1.{name}.sql", skip="schema_version")
    run_sql(database_url, f"released_v1.{name}.sql")
    connect(database_url).dispose()
    assert rows(database_url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert rows(database_url, "SELECT count(*) FROM checks") == [(11,)]


def test_replicas_starting_together_upgrade_it_once(database_url: str) -> None:
    released_database(database_url)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            connect(database_url).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rows(database_url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert rows(database_url, "SELECT count(*) FROM checks") == [(11,)]


def test_a_newer_schema_is_refused_and_left_untouched(database_url: str) -> None:
    connect(database_url).dispose()
    engine = raw_engine(database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}")
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with pytest.raises(DatabaseError, match=rf"schema version {SCHEMA_VERSION + 1}, and this"):
        connect(database_url)
    assert rows(database_url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION + 1,)]
    assert rows(database_url, "SELECT version_num FROM alembic_version") == [("9999",)]


def test_serve_refuses_a_newer_database_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'emwatch.db'}"
    connect(url).dispose()
    engine = raw_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}")
    engine.dispose()
    code = main(["serve", "--data-dir", str(tmp_path), "--port", str(free_port())])
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("error: the database sqlite:///") and "--database-url" in out


def test_serve_reports_an_unreachable_database_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"postgresql://emwatch:hunter2@127.0.0.1:{free_port()}/emwatch"
    assert main(["serve", "--database-url", url, "--port", str(free_port())]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: cannot use the database postgresql+psycopg://emwatch:***@")
    assert "hunter2" not in out
