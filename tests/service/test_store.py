"""The store against a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.store import Store, connect
from service.store.records import AlertRow, PackRecord, RunRecord, ScoreRow, TokenRecord
from service.store.store import DuplicateKeyError, StaleRunError


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'emwatch.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = connect(url)
    yield Store(engine)
    if request.param == "postgresql":  # one server per session: leave it empty for the next
        from service.store.tables import metadata

        metadata.drop_all(engine)
    engine.dispose()


def _pack(store: Store, name: str = "pack") -> None:
    store.insert_pack(PackRecord(name, "a" * 64, {"name": name}, 1.0, 3), b"tar")


def _run(store: Store, name: str = "run-1") -> RunRecord:
    _pack(store)
    return store.create_run(
        name=name,
        probe_pack="pack",
        model_id="m",
        detector_config={},
        labels={"team": "x"},
        prompt_set_hash=None,
        created_at=2.0,
    )


def _rows(step: int) -> list[ScoreRow]:
    return [ScoreRow(step, "model.layers.1", "direction:em", 1.0 + step, 0.5, 0.0, [1.0, 2.0])]


def _alert(step: int) -> AlertRow:
    return AlertRow(
        f"a|{step}",
        "model.layers.1",
        "direction:em",
        "persistence",
        "warning",
        "firing",
        3.0,
        4.0,
        4.5,
        step,
        10.0,
        step,
        11.0,
        None,
        None,
    )


def _record(store: Store, run: RunRecord, step: int) -> None:
    store.record_check(
        run,
        step=step,
        content_hash=f"{step:064d}",
        received_at=100.0 + step,
        prompt_set_hash="p" * 64,
        score_rows=_rows(step),
        alerts=[_alert(step)],
        detector_state={"last_step": step},
    )


def test_tokens_round_trip_and_revoke(store: Store) -> None:
    store.insert_token(TokenRecord("abc", "ci", "f" * 64, frozenset({"read", "ingest"}), 1.0, None))
    token = store.get_token("abc")
    assert token is not None and token.scopes == {"read", "ingest"}
    assert store.revoke_token("abc", 5.0) and not store.revoke_token("abc", 6.0)
    assert store.get_token("abc").revoked_at == 5.0  # type: ignore[union-attr]
    assert store.get_token("nope") is None


def test_pack_names_are_unique(store: Store) -> None:
    _pack(store)
    with pytest.raises(DuplicateKeyError):
        _pack(store)
    assert store.get_pack_archive("pack") == b"tar"
    assert store.get_pack("pack").size_bytes == 3  # type: ignore[union-attr]


def test_checks_are_stored_atomically_with_scores_alerts_and_state(store: Store) -> None:
    run = _run(store)
    _record(store, run, 0)
    run = store.get_run("run-1")
    assert run is not None and (run.n_checks, run.last_step, run.detector_state) == (
        1,
        0,
        {"last_step": 0},
    )
    _record(store, run, 10)
    assert [c.step for c in store.stored_checks(run.run_id)] == [0, 10]
    assert [r.step for r in store.score_series(run.run_id, since_step=5)] == [10]
    assert [a.alert_id for a in store.list_alerts(run.run_id)] == ["a|10"]  # replaced, not added
    assert store.check_hash(run.run_id, 10) == f"{10:064d}"


def test_duplicate_step_writes_nothing(store: Store) -> None:
    run = _run(store)
    _record(store, run, 0)
    run = store.get_run("run-1")
    assert run is not None
    with pytest.raises(DuplicateKeyError):
        _record(store, run, 0)
    assert store.get_run("run-1").n_checks == 1  # type: ignore[union-attr]
    assert len(store.score_series(run.run_id)) == 1


def test_stale_run_is_detected_and_rolled_back(store: Store) -> None:
    run = _run(store)
    _record(store, run, 0)  # `run` is now stale: n_checks moved from 0 to 1
    with pytest.raises(StaleRunError):
        _record(store, run, 10)
    fresh = store.get_run("run-1")
    assert fresh is not None and fresh.n_checks == 1
    assert store.check_hash(run.run_id, 10) is None  # the whole transaction rolled back
    assert [r.step for r in store.score_series(run.run_id)] == [0]


def test_delete_run_removes_its_series(store: Store) -> None:
    run = _run(store)
    _record(store, run, 0)
    store.delete_run(run.run_id)
    assert store.get_run("run-1") is None
    assert store.score_series(run.run_id) == [] and store.list_alerts(run.run_id) == []
    assert store.runs_using_pack("pack") == []


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()
