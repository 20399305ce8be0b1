"""The store against a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.store import Store, connect
from service.store.errors import DuplicateKeyError, LastAdminTokenError, UnknownRunError
from service.store.locked_run import LockedRun, ReplayedCheck
from service.store.records import (
    AlertRow,
    PackRecord,
    RunRecord,
    ScoreRow,
    StoredCheck,
    TokenRecord,
)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    engine = connect(database_url)
    yield Store(engine)
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
        created_by="tok1",
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


def _record(store: Store, step: int) -> None:
    """What ingest writes for a check that extends the series."""

    def write(locked: LockedRun) -> None:
        new = StoredCheck(step, f"{step:064d}", 100.0 + step, {})
        locked.write_series(step - 1, [ReplayedCheck(new, {"last_step": step}, _rows(step))], True)
        locked.replace_alerts([_alert(step)])
        locked.update_run(n_checks=locked.run.n_checks + 1, last_step=step)

    store.with_locked_run("run-1", write)


def test_tokens_round_trip_and_revoke(store: Store) -> None:
    store.insert_token(TokenRecord("adm", "root", "f" * 64, frozenset({"admin"}), 1.0, None))
    store.insert_token(TokenRecord("abc", "ci", "f" * 64, frozenset({"read", "ingest"}), 1.0, None))
    token = store.get_token("abc")
    assert token is not None and token.scopes == {"read", "ingest"}
    assert store.revoke_token("abc", 5.0) and not store.revoke_token("abc", 6.0)
    assert store.get_token("abc").revoked_at == 5.0  # type: ignore[union-attr]
    assert store.get_token("nope") is None


def test_the_last_live_admin_token_cannot_be_revoked(store: Store) -> None:
    store.insert_token(TokenRecord("adm1", "a", "f" * 64, frozenset({"admin"}), 1.0, None))
    store.insert_token(TokenRecord("adm2", "b", "f" * 64, frozenset({"admin", "read"}), 1.0, None))
    assert store.revoke_token("adm1", 5.0)
    with pytest.raises(LastAdminTokenError):
        store.revoke_token("adm2", 6.0)
    assert store.get_token("adm2").revoked_at is None  # type: ignore[union-attr]


def test_pack_names_are_unique(store: Store) -> None:
    _pack(store)
    with pytest.raises(DuplicateKeyError):
        _pack(store)
    assert store.get_pack_archive("pack") == b"tar"
    assert store.get_pack("pack").size_bytes == 3  # type: ignore[union-attr]


def test_a_check_is_stored_with_its_scores_alerts_and_state(store: Store) -> None:
    run = _run(store)
    assert (run.created_by, run.pack_hash) == ("tok1", "a" * 64)
    _record(store, 0)
    _record(store, 10)
    run = store.get_run("run-1")  # type: ignore[assignment]
    assert (run.n_checks, run.last_step) == (2, 10)
    assert [r.step for r in store.score_series(run.run_id, since_step=5)] == [10]
    assert [a.alert_id for a in store.list_alerts(run.run_id)] == ["a|10"]  # replaced, not added
    repeat = store.with_locked_run("run-1", lambda locked: locked.lookup(10))
    assert (repeat.stored_hash, repeat.saved) == (f"{10:064d}", None)
    new = store.with_locked_run("run-1", lambda locked: locked.lookup(15))
    assert new.stored_hash is None and new.saved is not None
    assert (new.saved.step, new.saved.state) == (10, {"last_step": 10})


def test_a_failed_transaction_writes_nothing(store: Store) -> None:
    run = _run(store)
    _record(store, 0)

    def fail_midway(locked: LockedRun) -> None:
        new = StoredCheck(10, "f" * 64, 1.0, {})
        locked.write_series(9, [ReplayedCheck(new, {}, _rows(10))], appended_only=True)
        raise RuntimeError("the detector failed")

    with pytest.raises(RuntimeError):
        store.with_locked_run("run-1", fail_midway)
    assert [r.step for r in store.score_series(run.run_id)] == [0]
    assert store.with_locked_run("run-1", lambda locked: locked.lookup(10)).stored_hash is None


def test_supersede_moves_later_checks_out_of_the_series(store: Store) -> None:
    run = _run(store)
    for step in (0, 10, 20, 30):
        _record(store, step)
    moved = store.with_locked_run("run-1", lambda locked: locked.supersede_after(10, 50.0))
    assert moved == 2
    assert store.with_locked_run("run-1", lambda locked: locked.supersede_after(10, 51.0)) == 0
    assert [r.step for r in store.score_series(run.run_id)] == [0, 10]
    audit = store.score_series(run.run_id, include_superseded=True)
    assert [(r.step, r.superseded) for r in audit] == [
        (0, False),
        (10, False),
        (20, True),
        (30, True),
    ]
    resumes = store.resumes_of([run.run_id])[run.run_id]
    assert [(r.from_step, r.at, r.superseded) for r in resumes] == [(10, 50.0, 2)]
    summary = store.with_locked_run("run-1", lambda locked: locked.live_summary())
    assert (summary.n_checks, summary.last_step, summary.last_check_at) == (2, 10, 110.0)
    _record(store, 20)  # the step is free again
    stored = store.with_locked_run("run-1", lambda locked: locked.lookup(20))
    assert stored.stored_hash == f"{20:064d}"


def test_delete_run_removes_its_series_and_audit(store: Store) -> None:
    run = _run(store)
    _record(store, 0)
    _record(store, 10)
    store.with_locked_run("run-1", lambda locked: locked.supersede_after(0, 50.0))
    store.delete_run(run.run_id)
    assert store.get_run("run-1") is None
    assert store.score_series(run.run_id, include_superseded=True) == []
    assert store.list_alerts(run.run_id) == [] and store.resumes_of([run.run_id]) == {
        run.run_id: []
    }
    assert store.runs_using_pack("pack") == []
    with pytest.raises(UnknownRunError):
        store.with_locked_run("run-1", lambda locked: None)


def test_metrics_read_a_fixed_number_of_queries_whatever_the_runs(store: Store) -> None:
    statements: list[str] = []
    sa.event.listen(
        store.engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: statements.append(statement),
    )
    counts = []
    for n_runs in (1, 20):
        for i in range(len(store.list_runs()), n_runs):
            if i == 0:
                _pack(store)
            store.create_run(
                name=f"r{i}",
                probe_pack="pack",
                model_id="m",
                detector_config={},
                labels={},
                prompt_set_hash=None,
                created_at=float(i),
                created_by=None,
            )
        statements.clear()
        snapshot = store.metrics_snapshot()
        assert len(snapshot.running) == n_runs
        counts.append(len([s for s in statements if s.lstrip().upper().startswith("SELECT")]))
    assert counts == [4, 4]


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()
