"""The store: every read and write the service makes, each in its own transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, RowMapping

from service.store import tables as t
from service.store.records import (
    AlertRow,
    NotificationRecord,
    PackRecord,
    RunRecord,
    ScoreRow,
    StoredCheck,
    TokenRecord,
)


class DuplicateKeyError(Exception):
    """A row with this key already exists (another request won the race)."""


class StaleRunError(Exception):
    """The run changed since it was read: another check landed first. Re-read and retry."""


def _run(row: RowMapping) -> RunRecord:
    return RunRecord(**{k: row[k] for k in RunRecord.__dataclass_fields__})


def _alert(row: RowMapping) -> AlertRow:
    return AlertRow(**{k: row[k] for k in AlertRow.__dataclass_fields__})


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    # -- tokens ------------------------------------------------------------------------------

    def insert_token(self, record: TokenRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                t.tokens.insert().values(
                    token_id=record.token_id,
                    name=record.name,
                    secret_sha256=record.secret_sha256,
                    scopes=" ".join(sorted(record.scopes)),
                    created_at=record.created_at,
                )
            )

    def get_token(self, token_id: str) -> TokenRecord | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(t.tokens).where(t.tokens.c.token_id == token_id))
                .mappings()
                .first()
            )
        return self._token(row) if row else None

    def list_tokens(self) -> list[TokenRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.tokens).order_by(t.tokens.c.created_at)).mappings()
            return [self._token(row) for row in rows]

    def revoke_token(self, token_id: str, at: float) -> bool:
        with self.engine.begin() as conn:
            result = conn.execute(
                t.tokens.update()
                .where(t.tokens.c.token_id == token_id, t.tokens.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return result.rowcount > 0

    @staticmethod
    def _token(row: RowMapping) -> TokenRecord:
        return TokenRecord(
            row["token_id"],
            row["name"],
            row["secret_sha256"],
            frozenset(row["scopes"].split()),
            row["created_at"],
            row["revoked_at"],
        )

    # -- probe packs -------------------------------------------------------------------------

    def insert_pack(self, record: PackRecord, archive: bytes) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    t.probe_packs.insert().values(
                        name=record.name,
                        content_hash=record.content_hash,
                        manifest=record.manifest,
                        size_bytes=len(archive),
                        created_at=record.created_at,
                    )
                )
                conn.execute(
                    t.probe_pack_archives.insert().values(name=record.name, archive=archive)
                )
        except sa.exc.IntegrityError as exc:
            raise DuplicateKeyError(record.name) from exc

    def get_pack(self, name: str) -> PackRecord | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(sa.select(t.probe_packs).where(t.probe_packs.c.name == name))
                .mappings()
                .first()
            )
        return PackRecord(**row) if row else None

    def list_packs(self) -> list[PackRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.probe_packs).order_by(t.probe_packs.c.name))
            return [PackRecord(**row) for row in rows.mappings()]

    def get_pack_archive(self, name: str) -> bytes | None:
        with self.engine.connect() as conn:
            archive = conn.execute(
                sa.select(t.probe_pack_archives.c.archive).where(
                    t.probe_pack_archives.c.name == name
                )
            ).scalar()
        return bytes(archive) if archive is not None else None

    def delete_pack(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(t.probe_pack_archives.delete().where(t.probe_pack_archives.c.name == name))
            conn.execute(t.probe_packs.delete().where(t.probe_packs.c.name == name))

    def runs_using_pack(self, name: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(sa.select(t.runs.c.name).where(t.runs.c.probe_pack == name)).scalars()
            )

    # -- runs --------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        name: str,
        probe_pack: str,
        model_id: str,
        detector_config: dict[str, Any],
        labels: dict[str, str],
        prompt_set_hash: str | None,
        created_at: float,
    ) -> RunRecord:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    t.runs.insert().values(
                        name=name,
                        probe_pack=probe_pack,
                        model_id=model_id,
                        status="running",
                        detector_config=detector_config,
                        labels=labels,
                        prompt_set_hash=prompt_set_hash,
                        n_checks=0,
                        created_at=created_at,
                    )
                )
        except sa.exc.IntegrityError as exc:
            raise DuplicateKeyError(name) from exc
        run = self.get_run(name)
        assert run is not None
        return run

    def get_run(self, name: str) -> RunRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.runs).where(t.runs.c.name == name)).mappings().first()
        return _run(row) if row else None

    def list_runs(self, status: str | None = None) -> list[RunRecord]:
        query = sa.select(t.runs).order_by(t.runs.c.created_at)
        if status:
            query = query.where(t.runs.c.status == status)
        with self.engine.connect() as conn:
            return [_run(row) for row in conn.execute(query).mappings()]

    def set_run_status(self, name: str, status: str, finished_at: float | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                t.runs.update()
                .where(t.runs.c.name == name)
                .values(status=status, finished_at=finished_at)
            )

    def delete_run(self, run_id: int) -> None:
        with self.engine.begin() as conn:
            for table in (t.alerts, t.scores, t.checks):
                conn.execute(table.delete().where(table.c.run_id == run_id))
            conn.execute(t.runs.delete().where(t.runs.c.run_id == run_id))

    # -- checks, scores, alerts --------------------------------------------------------------

    def check_hash(self, run_id: int, step: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(t.checks.c.content_hash).where(
                    t.checks.c.run_id == run_id, t.checks.c.step == step
                )
            ).scalar()

    def record_check(
        self,
        run: RunRecord,
        *,
        step: int,
        content_hash: str,
        received_at: float,
        prompt_set_hash: str,
        score_rows: Sequence[ScoreRow],
        alerts: Iterable[AlertRow],
        detector_state: dict[str, Any],
        replace_scores: bool = False,
    ) -> None:
        """Store a check, its scores, the run's alerts and detector state atomically.

        Optimistic concurrency: the run row is only updated if no other check landed since
        ``run`` was read (same ``n_checks``); otherwise nothing is written and
        ``StaleRunError`` tells the caller to re-read the run and recompute.
        ``replace_scores``: ``score_rows`` is the whole rebuilt series, not just this step's.
        """
        last_step = step if run.last_step is None else max(step, run.last_step)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    t.checks.insert().values(
                        run_id=run.run_id,
                        step=step,
                        content_hash=content_hash,
                        received_at=received_at,
                    )
                )
                if replace_scores:
                    conn.execute(t.scores.delete().where(t.scores.c.run_id == run.run_id))
                conn.execute(
                    t.scores.insert(),
                    [{"run_id": run.run_id, **row.__dict__} for row in score_rows],
                )
                conn.execute(t.alerts.delete().where(t.alerts.c.run_id == run.run_id))
                alert_rows = [{"run_id": run.run_id, **alert.__dict__} for alert in alerts]
                if alert_rows:
                    conn.execute(t.alerts.insert(), alert_rows)
                updated = conn.execute(
                    t.runs.update()
                    .where(t.runs.c.run_id == run.run_id, t.runs.c.n_checks == run.n_checks)
                    .values(
                        n_checks=run.n_checks + 1,
                        last_step=last_step,
                        last_check_at=received_at,
                        prompt_set_hash=prompt_set_hash,
                        detector_state=detector_state,
                    )
                )
                if updated.rowcount != 1:
                    raise StaleRunError(run.name)
        except sa.exc.IntegrityError as exc:
            raise DuplicateKeyError(f"{run.name}@{step}") from exc

    def stored_checks(self, run_id: int) -> list[StoredCheck]:
        """Every stored check of a run in step order, for rebuilding its detector."""
        with self.engine.connect() as conn:
            received = dict(
                conn.execute(
                    sa.select(t.checks.c.step, t.checks.c.received_at).where(
                        t.checks.c.run_id == run_id
                    )
                )
                .tuples()
                .all()
            )
            rows = (
                conn.execute(
                    sa.select(
                        t.scores.c.step,
                        t.scores.c.hook_point,
                        t.scores.c.feature,
                        t.scores.c.per_prompt,
                    ).where(t.scores.c.run_id == run_id)
                )
                .tuples()
                .all()
            )
        per_step: dict[int, dict[tuple[str, str], list[float]]] = {}
        for step, hook_point, feature, per_prompt in rows:
            per_step.setdefault(step, {})[(hook_point, feature)] = list(per_prompt)
        return [StoredCheck(step, received[step], per_step[step]) for step in sorted(per_step)]

    def score_series(
        self,
        run_id: int,
        *,
        hook_point: str | None = None,
        feature: str | None = None,
        since_step: int | None = None,
    ) -> list[ScoreRow]:
        query = sa.select(t.scores).where(t.scores.c.run_id == run_id)
        if hook_point:
            query = query.where(t.scores.c.hook_point == hook_point)
        if feature:
            query = query.where(t.scores.c.feature == feature)
        if since_step is not None:
            query = query.where(t.scores.c.step >= since_step)
        query = query.order_by(t.scores.c.step, t.scores.c.hook_point, t.scores.c.feature)
        with self.engine.connect() as conn:
            return [
                ScoreRow(**{k: row[k] for k in ScoreRow.__dataclass_fields__})
                for row in conn.execute(query).mappings()
            ]

    def latest_scores(self, runs: Sequence[RunRecord]) -> dict[int, list[ScoreRow]]:
        """The scores of each run's latest check."""
        result: dict[int, list[ScoreRow]] = {}
        for run in runs:
            if run.last_step is not None:
                result[run.run_id] = self.score_series(run.run_id, since_step=run.last_step)
        return result

    def list_alerts(self, run_id: int, state: str | None = None) -> list[AlertRow]:
        query = sa.select(t.alerts).where(t.alerts.c.run_id == run_id)
        if state:
            query = query.where(t.alerts.c.state == state)
        query = query.order_by(t.alerts.c.started_step, t.alerts.c.alert_id)
        with self.engine.connect() as conn:
            return [_alert(row) for row in conn.execute(query).mappings()]

    # -- notifications (Alertmanager webhook) ------------------------------------------------

    def record_notification(self, record: NotificationRecord) -> bool:
        """Store an alert instance Alertmanager delivered; True if it is new.

        A repeat delivery (same fingerprint and start) is merged by a single UPDATE, atomic on
        SQLite and PostgreSQL alike: it counts the delivery, takes the latest annotations and
        receiver, and records a resolution; a resolved instance never turns firing again.
        """
        table = t.notifications
        key = (table.c.fingerprint == record.fingerprint) & (
            table.c.starts_at_us == record.starts_at_us
        )
        changes: dict[str, Any] = {
            "annotations": record.annotations,
            "receiver": record.receiver,
            "last_received_at": record.last_received_at,
            "deliveries": table.c.deliveries + 1,
        }
        if record.status == "resolved":
            changes |= {"status": "resolved", "ends_at": record.ends_at}
        with self.engine.begin() as conn:
            if conn.execute(table.update().where(key).values(**changes)).rowcount:
                return False
        try:
            with self.engine.begin() as conn:
                conn.execute(table.insert().values(**record.__dict__))
        except sa.exc.IntegrityError:  # the same instance arrived concurrently: merge into it
            with self.engine.begin() as conn:
                conn.execute(table.update().where(key).values(**changes))
            return False
        return True

    def list_notifications(
        self, *, run: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[NotificationRecord]:
        """Delivered alert instances, the most recently delivered first."""
        table = t.notifications
        query = (
            sa.select(table)
            .order_by(table.c.last_received_at.desc(), table.c.fingerprint)
            .limit(limit)
        )
        if run:
            query = query.where(table.c.run == run)
        if status:
            query = query.where(table.c.status == status)
        with self.engine.connect() as conn:
            return [
                NotificationRecord(**{k: row[k] for k in NotificationRecord.__dataclass_fields__})
                for row in conn.execute(query).mappings()
            ]
