"""One run's series inside one write transaction that holds the run's lock.

Every change to a run's series (a check, a resume) happens here. The lock (``SELECT ... FOR
UPDATE`` of the run's row on PostgreSQL; SQLite's single write lock) makes changes of one run
wait for each other on any number of replicas, so everything read inside stays true until the
commit: no unique violation to interpret, no second SELECT that sees a newer series.

A check that extends the series costs six statements: lock, look up its step, insert the check,
insert its scores, update the run (and the alerts, when they changed; its attribution summary,
when it carries one). The statements are built once, with bound parameters, as building
SQLAlchemy expressions per call costs more than SQLite takes to run them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from monitor.core.attribution import AttributionSummary
from service.store import tables as t
from service.store.queries import (
    SCORE_COLUMNS,
    attribution_values,
    select_runs,
    to_alert,
    to_run,
    to_score,
)
from service.store.records import AlertRow, RunRecord, SavedState, ScoreRow, StoredCheck

_checks, _scores, _attributions = t.checks, t.scores, t.sample_attributions
_RUN: sa.BindParameter[int] = sa.bindparam("run_id", type_=sa.Integer)
_STEP: sa.BindParameter[int] = sa.bindparam("step", type_=sa.BigInteger)

_LOCK = select_runs().where(t.runs.c.name == sa.bindparam("name")).with_for_update(of=t.runs)
_AT_OR_BEFORE = (
    sa.select(_checks.c.step, _checks.c.content_hash, _checks.c.detector_state)
    .where(_checks.c.run_id == _RUN, _checks.c.step <= _STEP)
    .order_by(_checks.c.step.desc())
    .limit(1)
)
_STATE_BEFORE = (
    sa.select(_checks.c.step, _checks.c.detector_state)
    .where(_checks.c.run_id == _RUN, _checks.c.step < _STEP, _checks.c.detector_state.is_not(None))
    .order_by(_checks.c.step.desc())
    .limit(1)
)
_AFTER = (
    sa.select(
        _checks.c.step,
        _checks.c.content_hash,
        _checks.c.received_at,
        _scores.c.hook_point,
        _scores.c.feature,
        _scores.c.per_prompt,
    )
    .join(_scores, (_scores.c.run_id == _checks.c.run_id) & (_scores.c.step == _checks.c.step))
    .where(_checks.c.run_id == _RUN, _checks.c.step > _STEP)
    .order_by(_checks.c.step)
)
_SCORES_AT = (
    sa.select(*SCORE_COLUMNS)
    .where(_scores.c.run_id == _RUN, _scores.c.step == _STEP)
    .order_by(_scores.c.hook_point, _scores.c.feature)
)
_ALERTS = (
    sa.select(t.alerts)
    .where(t.alerts.c.run_id == _RUN)
    .order_by(t.alerts.c.started_step, t.alerts.c.alert_id)
)
_LIVE = sa.select(
    sa.func.count(), sa.func.max(_checks.c.step), sa.func.max(_checks.c.received_at)
).where(_checks.c.run_id == _RUN)


@functools.cache
def _run_update(columns: tuple[str, ...]) -> sa.Update:
    """The UPDATE of these run columns, built once per set of columns (ingest always sets the
    same ones)."""
    return (
        t.runs.update()
        .where(t.runs.c.run_id == sa.bindparam("b_run"))
        .values({column: sa.bindparam(column) for column in columns})
    )


@dataclass(frozen=True)
class ReplayedCheck:
    """A check as a replay leaves it: its detector state and score rows (z-scores and CUSUMs
    of later checks move when an earlier one arrives)."""

    check: StoredCheck
    state: dict[str, Any]
    score_rows: list[ScoreRow]


@dataclass(frozen=True)
class StepLookup:
    """What the series holds for a step: the check's hash if it is stored, else the saved
    detector state nearest before it (None: no earlier check has one)."""

    stored_hash: str | None
    saved: SavedState | None


@dataclass(frozen=True)
class LiveSummary:
    n_checks: int
    last_step: int | None
    last_check_at: float | None


def lock_run(connection: Connection, name: str) -> LockedRun | None:
    """Lock the run's row for the rest of the transaction; None if there is no such run."""
    row = connection.execute(_LOCK, {"name": name}).mappings().first()
    return LockedRun(connection, to_run(row)) if row else None


class LockedRun:
    def __init__(self, connection: Connection, run: RunRecord) -> None:
        self.connection = connection
        self.run = run
        self._key = {"run_id": run.run_id}

    # -- reading -----------------------------------------------------------------------------

    def lookup(self, step: int) -> StepLookup:
        """One query in the usual case: the row at ``step`` or the nearest before it."""
        row = self.connection.execute(_AT_OR_BEFORE, {**self._key, "step": step}).first()
        if row is None:
            return StepLookup(None, None)
        if row.step == step:
            return StepLookup(row.content_hash, None)
        if row.detector_state is not None:
            return StepLookup(None, SavedState(row.step, row.detector_state))
        return StepLookup(None, self.state_before(step))  # checks stored before revision 0002

    def state_before(self, step: int) -> SavedState | None:
        """The stored detector state of the nearest check before ``step`` that has one."""
        row = self.connection.execute(_STATE_BEFORE, {**self._key, "step": step}).first()
        return SavedState(row[0], row[1]) if row else None

    def checks_after(self, step: int) -> list[StoredCheck]:
        """Every check after ``step``, in step order, as the detector replays it."""
        rows = self.connection.execute(_AFTER, {**self._key, "step": step}).all()
        stored: dict[int, tuple[str, float]] = {}
        per_step: dict[int, dict[tuple[str, str], list[float]]] = {}
        for check_step, content_hash, received_at, hook_point, feature, per_prompt in rows:
            stored[check_step] = (content_hash, received_at)
            per_step.setdefault(check_step, {})[(hook_point, feature)] = list(per_prompt)
        return [StoredCheck(s, *stored[s], per_step[s]) for s in per_step]

    def scores_at(self, step: int) -> list[ScoreRow]:
        rows = self.connection.execute(_SCORES_AT, {**self._key, "step": step}).mappings()
        return [to_score(row) for row in rows]

    def alerts(self) -> list[AlertRow]:
        return [to_alert(row) for row in self.connection.execute(_ALERTS, self._key).mappings()]

    def live_summary(self) -> LiveSummary:
        count, last_step, last_at = self.connection.execute(_LIVE, self._key).one()
        return LiveSummary(int(count), last_step, last_at)

    # -- writing -----------------------------------------------------------------------------

    def write_series(
        self, after_step: int, replayed: Sequence[ReplayedCheck], appended_only: bool
    ) -> None:
        """Store a replay: every check after ``after_step`` (exactly those ``replayed``
        covers, the new one among them) with its state and scores. Replayed checks are
        rewritten by deleting and inserting them, four statements whatever their
        number (each an executemany); ``appended_only`` (just the new check) skips the deletes."""
        run_id = self.run.run_id
        if not appended_only:
            for table in (_checks, _scores):
                self.connection.execute(
                    table.delete().where(table.c.run_id == run_id, table.c.step > after_step)
                )
        checks = [
            {
                "run_id": run_id,
                "step": replay.check.step,
                "content_hash": replay.check.content_hash,
                "received_at": replay.check.received_at,
                "detector_state": replay.state,
            }
            for replay in replayed
        ]
        self.connection.execute(_checks.insert(), checks)
        rows = [
            {"run_id": run_id, **_score_values(row)}
            for replay in replayed
            for row in replay.score_rows
        ]
        if rows:
            self.connection.execute(_scores.insert(), rows)

    def replace_alerts(self, alerts: Sequence[AlertRow]) -> None:
        self.connection.execute(t.alerts.delete().where(t.alerts.c.run_id == self.run.run_id))
        if alerts:
            self.connection.execute(
                t.alerts.insert(),
                [{"run_id": self.run.run_id, **alert.__dict__} for alert in alerts],
            )

    def update_run(self, **values: Any) -> None:
        self.connection.execute(
            _run_update(tuple(sorted(values))), {**values, "b_run": self.run.run_id}
        )

    def write_attribution(self, step: int, summary: AttributionSummary) -> None:
        """Store the attribution summary the new check at ``step`` carried."""
        self.connection.execute(
            _attributions.insert(),
            {"run_id": self.run.run_id, "step": step, **attribution_values(summary)},
        )

    def supersede_after(self, from_step: int, at: float) -> int:
        """Move every check after ``from_step``, its scores and its attribution summary to the
        superseded tables, under one new ``resumes`` row; returns how many checks moved (none:
        no row is added)."""
        later = (_checks.c.run_id == self.run.run_id) & (_checks.c.step > from_step)
        count = self.connection.execute(sa.select(sa.func.count()).where(later)).scalar_one()
        if not count:
            return 0
        resume_id = self.connection.execute(
            t.resumes.insert()
            .values(run_id=self.run.run_id, from_step=from_step, at=at, superseded=count)
            .returning(t.resumes.c.resume_id)
        ).scalar_one()
        keep = (_checks.c.step, _checks.c.run_id, _checks.c.content_hash, _checks.c.received_at)
        moves = (
            (_scores, t.superseded_scores, list(_scores.c)),
            (_attributions, t.superseded_sample_attributions, list(_attributions.c)),
            (_checks, t.superseded_checks, keep),
        )
        for source, target, columns in moves:
            rows = (source.c.run_id == self.run.run_id) & (source.c.step > from_step)
            self.connection.execute(
                target.insert().from_select(
                    ["resume_id", *[c.name for c in columns]],
                    sa.select(sa.literal(resume_id), *columns).where(rows),
                )
            )
            self.connection.execute(source.delete().where(rows))
        return int(count)


def _score_values(row: ScoreRow) -> dict[str, Any]:
    values = dict(row.__dict__)
    del values["superseded"]
    return values
