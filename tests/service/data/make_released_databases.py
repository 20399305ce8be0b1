"""Write databases as emwatch 0.1.0 (the first released schema) left them, with real data in them.

Run it from a checkout of the release, so the service that writes the data is the released one:

    git worktree add /tmp/emwatch-0.1.0 ceaaf9a
    cd /tmp/emwatch-0.1.0
    PYTHONPATH=. $EMWATCH/.venv/bin/python \\
        $EMWATCH/tests/service/data/make_released_databases.py $EMWATCH/tests/service/data

It writes the release's schema as its ``metadata.create_all`` emits it, per dialect
(``schema_v1.sqlite.sql``, ``schema_v1.postgresql.sql``); then starts the released
``emwatch serve`` on SQLite and on a throwaway PostgreSQL, registers a pack, creates runs (one
drifting into firing alerts, with a check sent out of order; one finished; one without
checks), tokens (one revoked) and an Alertmanager notification, and dumps both databases' rows
as SQL (``released_v1.sqlite.sql``, ``released_v1.postgresql.sql``). ``test_migrations.py``
loads them and upgrades them.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import torch

from monitor.core.wire import encode_check
from monitor.trainer.client import EmwatchClient
from tests.factories import HOOKS, direction_vector, make_check, make_pack
from tests.servers import ADMIN_TOKEN, ServiceProcess, postgres_server

PROMPT_SET = "c" * 64  # a valid hash, as the next schema requires


def _drift(step: int) -> dict[str, torch.Tensor]:
    v = direction_vector(0)
    return {HOOKS[0]: (step / 10) * 3.0 * v / v.norm()}


def _check(run: str, step: int, drift: bool = True) -> bytes:
    shift = _drift(step) if drift else None
    return encode_check(make_check(run, step, shift=shift, prompt_set_hash=PROMPT_SET))


def fill(service: ServiceProcess, scratch: Path) -> None:
    with EmwatchClient(service.url, ADMIN_TOKEN) as admin:
        make_pack(scratch / "pack", name="released-pack")
        admin.register_pack(scratch / "pack")
        http = httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        http.post("/v1/tokens", json={"name": "trainer", "scopes": ["ingest"]}).raise_for_status()
        reader = http.post("/v1/tokens", json={"name": "old-reader", "scopes": ["read"]}).json()
        http.delete(f"/v1/tokens/{reader['id']}").raise_for_status()
        admin.create_run(
            {"name": "released-drift", "probe_pack": "released-pack", "labels": {"team": "a"}}
        )
        for step in (0, 10, 20, 40, 30, 50, 60, 70):  # 30 after 40: a spool replay
            admin.send_check("released-drift", _check("released-drift", step))
        admin.create_run({"name": "released-finished", "probe_pack": "released-pack"})
        for step in (0, 5, 10):
            admin.send_check("released-finished", _check("released-finished", step, drift=False))
        admin.set_run_status("released-finished", "finished")
        admin.create_run({"name": "released-empty", "probe_pack": "released-pack"})
        http.post(
            "/v1/alertmanager/webhook",
            json={
                "version": "4",
                "status": "firing",
                "receiver": "emwatch",
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {"alertname": "EmwatchDrift", "run": "released-drift"},
                        "annotations": {"summary": "drift"},
                        "startsAt": "2025-01-01T00:00:00Z",
                        "fingerprint": "abc123",
                    }
                ],
            },
        ).raise_for_status()


def write_schema(out: Path) -> None:
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from service.store.tables import metadata

    for name, dialect in (
        ("sqlite", sqlite.dialect()),
        ("postgresql", postgresql.psycopg.dialect()),
    ):
        parts = []
        for table in metadata.sorted_tables:
            parts.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
            for index in sorted(table.indexes, key=lambda i: str(i.name)):
                parts.append(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";")
        parts.append("INSERT INTO schema_version (version) VALUES (1);")
        (out / f"schema_v1.{name}.sql").write_text("\n\n".join(parts) + "\n")


def main(out: Path) -> None:
    write_schema(out)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        service = ServiceProcess(root / "sqlite").start()
        try:
            fill(service, root)
        finally:
            service.stop()
        with sqlite3.connect(root / "sqlite" / "emwatch.db") as db:
            inserts = [
                statement
                for statement in db.iterdump()
                if statement.startswith("INSERT INTO")
                and not statement.startswith('INSERT INTO "schema_version"')
            ]
        (out / "released_v1.sqlite.sql").write_text("\n".join(inserts) + "\n")
        with postgres_server() as url:
            service = ServiceProcess(root / "pg", database_url=url).start()
            try:
                fill(service, root / "pg-scratch")
            finally:
                service.stop()
            dump = subprocess.run(
                [
                    "pg_dump",
                    "--data-only",
                    "--inserts",
                    "--no-owner",
                    "--no-privileges",
                    "--exclude-table=schema_version",
                    url.replace("postgresql://", "postgres://"),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        # Plain SQL for any client: drop psql's meta-commands (\\restrict) and comments.
        statements = [
            line for line in dump.splitlines() if line and not line.startswith(("\\", "--"))
        ]
        (out / "released_v1.postgresql.sql").write_text("\n".join(statements) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
