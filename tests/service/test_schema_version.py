"""The database carries its schema version; a service never opens one it does not know."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from monitor.cli.main import main
from service.store import DatabaseError, connect
from service.store.tables import SCHEMA_VERSION, metadata, schema_version, tokens
from tests.servers import free_port

TOKEN_ROW = {
    "token_id": "abc",
    "name": "ci",
    "secret_sha256": "0" * 64,
    "scopes": "read",
    "created_at": 1.0,
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'emwatch.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    yield url
    engine = connect_raw(url)
    metadata.drop_all(engine)  # one server per session: leave it empty for the next
    engine.dispose()


def connect_raw(url: str) -> sa.Engine:
    """An engine with no schema handling, to set up databases as other versions left them."""
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def rows(url: str, table: sa.Table) -> list[tuple[object, ...]]:
    engine = connect_raw(url)
    with engine.connect() as connection:
        found = [tuple(row) for row in connection.execute(sa.select(table))]
    engine.dispose()
    return found


def test_a_new_database_is_stamped(url: str) -> None:
    connect(url).dispose()
    connect(url).dispose()  # opening it again changes nothing
    assert rows(url, schema_version) == [(SCHEMA_VERSION,)]


def test_a_database_from_before_versioning_is_stamped_and_keeps_its_data(url: str) -> None:
    engine = connect_raw(url)
    unversioned = [t for t in metadata.sorted_tables if t is not schema_version]
    metadata.create_all(engine, tables=unversioned)
    with engine.begin() as connection:
        connection.execute(tokens.insert().values(**TOKEN_ROW))
    engine.dispose()
    connect(url).dispose()
    assert rows(url, schema_version) == [(SCHEMA_VERSION,)]
    assert rows(url, tokens) == [(*TOKEN_ROW.values(), None)]  # revoked_at: NULL


def test_a_newer_schema_is_refused_and_left_untouched(url: str) -> None:
    connect(url).dispose()
    engine = connect_raw(url)
    with engine.begin() as connection:
        connection.execute(schema_version.update().values(version=SCHEMA_VERSION + 1))
        connection.execute(tokens.insert().values(**TOKEN_ROW))
    engine.dispose()
    with pytest.raises(DatabaseError, match=rf"schema version {SCHEMA_VERSION + 1}, and this"):
        connect(url)
    assert rows(url, schema_version) == [(SCHEMA_VERSION + 1,)]
    assert len(rows(url, tokens)) == 1


def test_serve_refuses_a_newer_database_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'emwatch.db'}"
    connect(url).dispose()
    engine = connect_raw(url)
    with engine.begin() as connection:
        connection.execute(schema_version.update().values(version=SCHEMA_VERSION + 1))
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
