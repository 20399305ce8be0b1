from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from monitor.trainer.client import EmwatchClient
from tests.factories import make_pack
from tests.servers import ADMIN_TOKEN, ServiceProcess

_names = itertools.count()


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the session's PostgreSQL server, dropped afterwards."""
    name = f"emw_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of the test's own: a SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'emwatch.db'}"
        return
    with postgres_database(request.getfixturevalue("postgres_url")) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """A real `emwatch serve` on a loopback port, backed by SQLite or a real PostgreSQL."""
    with (
        postgres_database(request.getfixturevalue("postgres_url"))
        if request.param == "postgresql"
        else nullcontext()
    ) as url:
        process = ServiceProcess(
            tmp_path_factory.mktemp("service"),
            database_url=url,
            extra_env={
                "EMWATCH_MAX_CHECK_BYTES": str(256 * 1024),
                "EMWATCH_MAX_PROMPTS_PER_CHECK": "64",
            },
        ).start()
        yield process
        process.stop()


@pytest.fixture(scope="module")
def admin(service: ServiceProcess) -> Iterator[EmwatchClient]:
    with EmwatchClient(service.url, ADMIN_TOKEN) as client:
        yield client


@pytest.fixture(scope="module")
def http(service: ServiceProcess) -> Iterator[httpx.Client]:
    """Raw HTTP with the admin token, for requests the client library would never send."""
    with httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="module")
def pack_name(admin: EmwatchClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("pack") / "pack"
    make_pack(directory, name="api-pack")
    admin.register_pack(directory)
    return "api-pack"


@pytest.fixture
def run_name(admin: EmwatchClient, pack_name: str) -> str:
    """A fresh run on the test pack."""
    name = f"run-{next(_names)}"
    admin.create_run({"name": name, "probe_pack": pack_name, "model_id": "tiny-test-model"})
    return name


def pack_dir(tmp_path: Path, **kwargs: object) -> Path:
    directory = tmp_path / "pack"
    make_pack(directory, **kwargs)  # type: ignore[arg-type]
    return directory
