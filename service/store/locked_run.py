"""One run's series inside one write transaction that holds the run's lock.

Every change to a run's series (a check, a resume) happens here. The lock (``SELECT ... FOR
UPDATE`` of the run's row on PostgreSQL; SQLite's single write lock) makes changes of one run
wait for each other on any number of replicas, so everything read inside stays true until the
commit: no unique violation to interpret, no second SELECT that sees a newer series.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.store import tables as t
from service.store.queries import SCORE_COLUMNS, select_runs, to_alert, to_run, to_score
from service.store.records import AlertRow, RunRecord, SavedState, ScoreRow, StoredCheck


@dataclass(frozen=True)
class ReplayedCheck:
    """A check as a replay leaves it: its detector state and score rows (z-scores and CUSUMs
    of later checks move when an earlier one arrives)."""

    step: int
    state: dict[str, Any]
    score_rows: list[ScoreRow]


@dataclass(frozen=True)
class NewCheck:
    step: int
    content_hash: str
    received_at: float


@dataclass(frozen=True)
class LiveSummary:
    n_checks: int
    last_step: int | None
    last_check_at: float | None


def lock_run(connection: Connection, name: str) -> LockedRun | None:
    """Lock the run's row for the rest of the transaction; None if there is no such run."""
    query = select_runs().where(t.runs.c.name == name).with_for_update(of=t.runs)
    row = connection.execute(query).mappings().first()
    return LockedRun(connection, to_run(row)) if row else None


class LockedRun:
    def __init__(self, connection: Connection, run: RunRecord) -> None:
        self.connection = connection
        self.run = run
        self._where = t.checks.c.run_id == run.run_id

    # -- reading -----------------------------------------------------------------------------

    def check_hash(self, step: int) -> str | None:
        return self.connection.execute(
            sa.select(t.checks.c.content_hash).where(self._where, t.checks.c.step == step)
        ).scalar()

    def state_before(self, step: int) -> SavedState | None:
        """The stored detector state of the nearest check before ``step`` that has one."""
        row = self.connection.execute(
            sa.select(t.checks.c.step, t.checks.c.detector_state)
            .where(self._where, t.checks.c.step < step, t.checks.c.detector_state.is_not(None))
            .order_by(t.checks.c.step.desc())
            .limit(1)
        ).first()
        return SavedState(row[0], row[1]) if row else None

    def checks_after(self, step: int) -> list[StoredCheck]:
        """Every check after ``step``, in step order, as the detector replays it."""
        rows = self.connection.execute(
            sa.select(
                t.checks.c.step,
                t.checks.c.received_at,
                t.scores.c.hook_point,
                t.scores.c.feature,
                t.scores.c.per_prompt,
            )
            .join(
                t.scores,
                (t.scores.c.run_id == t.checks.c.run_id) & (t.scores.c.step == t.checks.c.step),
            )
            .where(self._where, t.checks.c.step > step)
            .order_by(t.checks.c.step)
        ).all()
        received: dict[int, float] = {}
        per_step: dict[int, dict[tuple[str, str], list[float]]] = {}
        for check_step, received_at, hook_point, feature, per_prompt in rows:
            received[check_step] = received_at
            per_step.setdefault(check_step, {})[(hook_point, feature)] = list(per_prompt)
        return [StoredCheck(s, received[s], per_step[s]) for s in per_step]

    def scores_at(self, step: int) -> list[ScoreRow]:
        query = (
            sa.select(*SCORE_COLUMNS)
            .where(t.scores.c.run_id == self.run.run_id, t.scores.c.step == step)
            .order_by(t.scores.c.hook_point, t.scores.c.feature)
        )
        return [to_score(row) for row in self.connection.execute(query).mappings()]

    def alerts(self) -> list[AlertRow]:
        query = sa.select(t.alerts).where(t.alerts.c.run_id == self.run.run_id)
        query = query.order_by(t.alerts.c.started_step, t.alerts.c.alert_id)
        return [to_alert(row) for row in self.connection.execute(query).mappings()]

    def live_summary(self) -> LiveSummary:
        count, last_step, last_at = self.connection.execute(
            sa.select(
                sa.func.count(), sa.func.max(t.checks.c.step), sa.func.max(t.checks.c.received_at)
            ).where(self._where)
        ).one()
        return LiveSummary(int(count), last_step, last_at)

    # -- writing -----------------------------------------------------------------------------

    def write_series(
        self, after_step: int, new: NewCheck | None, replayed: Sequence[ReplayedCheck]
    ) -> None:
        """Store a replay: ``new`` (if any) and the new state and scores of every check after
        ``after_step``, which is exactly the set ``replayed`` covers."""
        run_id = self.run.run_id
        states = {check.step: check.state for check in replayed}
        if new is not None:
            self.connection.execute(
                t.checks.insert().values(
                    run_id=run_id,
                    step=new.step,
                    content_hash=new.content_hash,
                    received_at=new.received_at,
                    detector_state=states.pop(new.step),
                )
            )
        if states:
            self.connection.execute(
                t.checks.update()
                .where(self._where, t.checks.c.step == sa.bindparam("b_step"))
                .values(detector_state=sa.bindparam("b_state")),
                [{"b_step": step, "b_state": state} for step, state in states.items()],
            )
            self.connection.execute(
                t.scores.delete().where(t.scores.c.run_id == run_id, t.scores.c.step > after_step)
            )
        rows = [
            {"run_id": run_id, **_score_values(row)}
            for check in replayed
            for row in check.score_rows
        ]
        if rows:
            self.connection.execute(t.scores.insert(), rows)

    def replace_alerts(self, alerts: Sequence[AlertRow]) -> None:
        self.connection.execute(t.alerts.delete().where(t.alerts.c.run_id == self.run.run_id))
        if alerts:
            self.connection.execute(
                t.alerts.insert(),
                [{"run_id": self.run.run_id, **alert.__dict__} for alert in alerts],
            )

    def update_run(self, **values: Any) -> None:
        self.connection.execute(
            t.runs.update().where(t.runs.c.run_id == self.run.run_id).values(**values)
        )

    def supersede_after(self, from_step: int, at: float) -> int:
        """Move every check after ``from_step`` and its scores to the superseded tables, under
        one new ``resumes`` row; returns how many checks moved (none: no row is added)."""
        later = self._where & (t.checks.c.step > from_step)
        count = self.connection.execute(sa.select(sa.func.count()).where(later)).scalar_one()
        if not count:
            return 0
        resume_id = self.connection.execute(
            t.resumes.insert()
            .values(run_id=self.run.run_id, from_step=from_step, at=at, superseded=count)
            .returning(t.resumes.c.resume_id)
        ).scalar_one()
        keep = (t.checks.c.step, t.checks.c.run_id, t.checks.c.content_hash, t.checks.c.received_at)
        self.connection.execute(
            t.superseded_checks.insert().from_select(
                ["resume_id", *[c.name for c in keep]],
                sa.select(sa.literal(resume_id), *keep).where(later),
            )
        )
        later_scores = (t.scores.c.run_id == self.run.run_id) & (t.scores.c.step > from_step)
        score_columns = [c for c in t.scores.c]
        self.connection.execute(
            t.superseded_scores.insert().from_select(
                ["resume_id", *[c.name for c in score_columns]],
                sa.select(sa.literal(resume_id), *score_columns).where(later_scores),
            )
        )
        self.connection.execute(t.scores.delete().where(later_scores))
        self.connection.execute(t.checks.delete().where(later))
        return int(count)


def _score_values(row: ScoreRow) -> dict[str, Any]:
    values = dict(row.__dict__)
    del values["superseded"]
    return values
