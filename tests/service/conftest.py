from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.trainer.client import EmwatchClient
from tests.factories import make_pack
from tests.servers import ADMIN_TOKEN, ServiceProcess

_names = itertools.count()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """A real `emwatch serve` on a loopback port, backed by SQLite or a real PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    process = ServiceProcess(
        tmp_path_factory.mktemp("service"),
        database_url=url,
        extra_env={"EMWATCH_MAX_CHECK_BYTES": str(256 * 1024)},
    ).start()
    yield process
    process.stop()
    if url:
        from service.store import connect
        from service.store.tables import metadata

        engine = connect(url)
        metadata.drop_all(engine)
        engine.dispose()


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
