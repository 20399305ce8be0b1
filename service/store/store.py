"""The store: every read and write the service makes, each one transaction (``Transactions``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping

from service.store import tables as t
from service.store.database import DatabaseLimits
from service.store.errors import DuplicateKeyError, LastAdminTokenError, UnknownRunError
from service.store.locked_run import LockedRun, lock_run
from service.store.queries import (
    SCORE_COLUMNS,
    WINDOW_COUNTS,
    select_runs,
    to_alert,
    to_run,
    to_score,
    to_window,
    to_window_counts,
)
from service.store.records import (
    AlertRow,
    AttributionWindow,
    MetricsSnapshot,
    NotificationRecord,
    PackRecord,
    ResumeRecord,
    RunRecord,
    ScoreRow,
    TokenRecord,
)
from service.store.transactions import Transactions

T = TypeVar("T")
ADMIN_SCOPE = "admin"

# Every request reads these two; built once (building a statement costs more than running it).
_TOKEN = sa.select(t.tokens).where(t.tokens.c.token_id == sa.bindparam("id"))
_RUN = select_runs().where(t.runs.c.name == sa.bindparam("name"))


def _token(row: RowMapping) -> TokenRecord:
    return TokenRecord(
        row["token_id"],
        row["name"],
        row["secret_sha256"],
        frozenset(row["scopes"].split()),
        row["created_at"],
        row["revoked_at"],
    )


class Store:
    def __init__(self, engine: Engine, limits: DatabaseLimits | None = None) -> None:
        self.engine = engine
        self.transactions = Transactions(engine, limits or DatabaseLimits())

    def _read(self, work: Callable[[Connection], T]) -> T:
        """One read statement."""
        return self.transactions.run(work, single_statement=True)

    def _snapshot(self, work: Callable[[Connection], T]) -> T:
        """Several reads that must see one state of the database."""
        return self.transactions.run(work, snapshot=True)

    def _write(self, work: Callable[[Connection], T]) -> T:
        return self.transactions.run(work, write=True)

    def check_writable(self, timeout_s: float) -> None:
        """Raise ``DatabaseUnavailableError`` unless the database takes a write now (its write
        lock and an UPDATE that changes nothing), within ``timeout_s`` whatever it does."""

        def probe(conn: Connection) -> None:
            if self.transactions.postgresql:
                conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}")
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(timeout_s * 1000)}")
            conn.execute(t.schema_version.update().values(version=t.schema_version.c.version))

        self.transactions.run(probe, write=True, timeout_s=timeout_s)

    # -- tokens ------------------------------------------------------------------------------

    def insert_token(self, record: TokenRecord) -> None:
        values = {
            "token_id": record.token_id,
            "name": record.name,
            "secret_sha256": record.secret_sha256,
            "scopes": " ".join(sorted(record.scopes)),
            "created_at": record.created_at,
        }
        self._write(lambda conn: conn.execute(t.tokens.insert().values(**values)))

    def get_token(self, token_id: str) -> TokenRecord | None:
        row = self._read(lambda conn: conn.execute(_TOKEN, {"id": token_id}).mappings().first())
        return _token(row) if row else None

    def list_tokens(self) -> list[TokenRecord]:
        query = sa.select(t.tokens).order_by(t.tokens.c.created_at)
        return self._read(lambda conn: [_token(r) for r in conn.execute(query).mappings()])

    def revoke_token(self, token_id: str, at: float) -> bool:
        """Revoke a live token; False if there is none with this id. Refuses (raising
        ``LastAdminTokenError``) to revoke the last live admin token."""

        def revoke(conn: Connection) -> bool:
            live = conn.execute(
                sa.select(t.tokens.c.token_id, t.tokens.c.scopes)
                .where(t.tokens.c.revoked_at.is_(None))
                .with_for_update()  # two admins revoking each other: one waits, then counts
            ).all()
            scopes = {row.token_id: set(row.scopes.split()) for row in live}
            if token_id not in scopes:
                return False
            admins = [tid for tid, held in scopes.items() if ADMIN_SCOPE in held]
            if admins == [token_id]:
                raise LastAdminTokenError(token_id)
            conn.execute(
                t.tokens.update().where(t.tokens.c.token_id == token_id).values(revoked_at=at)
            )
            return True

        return self._write(revoke)

    # -- probe packs -------------------------------------------------------------------------

    def insert_pack(self, record: PackRecord, archive: bytes) -> None:
        def insert(conn: Connection) -> None:
            conn.execute(
                t.probe_packs.insert().values(
                    name=record.name,
                    content_hash=record.content_hash,
                    manifest=record.manifest,
                    size_bytes=len(archive),
                    created_at=record.created_at,
                )
            )
            conn.execute(t.probe_pack_archives.insert().values(name=record.name, archive=archive))

        try:
            self._write(insert)
        except sa.exc.IntegrityError as exc:
            raise DuplicateKeyError(record.name) from exc

    def get_pack(self, name: str) -> PackRecord | None:
        query = sa.select(t.probe_packs).where(t.probe_packs.c.name == name)
        row = self._read(lambda conn: conn.execute(query).mappings().first())
        return PackRecord(**row) if row else None

    def list_packs(self) -> list[PackRecord]:
        query = sa.select(t.probe_packs).order_by(t.probe_packs.c.name)
        return self._read(lambda conn: [PackRecord(**r) for r in conn.execute(query).mappings()])

    def get_pack_archive(self, name: str) -> bytes | None:
        query = sa.select(t.probe_pack_archives.c.archive).where(
            t.probe_pack_archives.c.name == name
        )
        archive = self._read(lambda conn: conn.execute(query).scalar())
        return bytes(archive) if archive is not None else None

    def delete_pack(self, name: str) -> None:
        def delete(conn: Connection) -> None:
            conn.execute(t.probe_pack_archives.delete().where(t.probe_pack_archives.c.name == name))
            conn.execute(t.probe_packs.delete().where(t.probe_packs.c.name == name))

        self._write(delete)

    def runs_using_pack(self, name: str) -> list[str]:
        query = sa.select(t.runs.c.name).where(t.runs.c.probe_pack == name)
        return self._read(lambda conn: list(conn.execute(query).scalars()))

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
        created_by: str | None,
    ) -> RunRecord:
        values = {
            "name": name,
            "probe_pack": probe_pack,
            "model_id": model_id,
            "status": "running",
            "detector_config": detector_config,
            "labels": labels,
            "prompt_set_hash": prompt_set_hash,
            "n_checks": 0,
            "created_at": created_at,
            "created_by": created_by,
        }

        def create(conn: Connection) -> RunRecord:
            conn.execute(t.runs.insert().values(**values))
            return to_run(conn.execute(select_runs().where(t.runs.c.name == name)).mappings().one())

        try:
            return self._write(create)
        except sa.exc.IntegrityError as exc:
            raise DuplicateKeyError(name) from exc

    def get_run(self, name: str) -> RunRecord | None:
        row = self._read(lambda conn: conn.execute(_RUN, {"name": name}).mappings().first())
        return to_run(row) if row else None

    def list_runs(self, status: str | None = None) -> list[RunRecord]:
        query = select_runs().order_by(t.runs.c.created_at, t.runs.c.run_id)
        if status:
            query = query.where(t.runs.c.status == status)
        return self._read(lambda conn: [to_run(r) for r in conn.execute(query).mappings()])

    def resumes_of(self, run_ids: Iterable[int]) -> dict[int, list[ResumeRecord]]:
        """The resumes of each run, oldest first (one query for any number of runs)."""
        ids = list(run_ids)
        query = (
            sa.select(t.resumes)
            .where(t.resumes.c.run_id.in_(ids))
            .order_by(t.resumes.c.run_id, t.resumes.c.resume_id)
        )
        rows = self._read(lambda conn: conn.execute(query).mappings().all())
        found: dict[int, list[ResumeRecord]] = {run_id: [] for run_id in ids}
        for row in rows:
            found[row["run_id"]].append(
                ResumeRecord(row["from_step"], row["at"], row["superseded"])
            )
        return found

    def set_run_status(self, name: str, status: str, finished_at: float | None) -> None:
        query = (
            t.runs.update()
            .where(t.runs.c.name == name)
            .values(status=status, finished_at=finished_at)
        )
        self._write(lambda conn: conn.execute(query))

    def delete_run(self, run_id: int) -> None:
        def delete(conn: Connection) -> None:
            for table in (
                t.alerts,
                t.superseded_scores,
                t.superseded_sample_attributions,
                t.superseded_checks,
                t.resumes,
                t.scores,
                t.sample_attributions,
                t.checks,
            ):
                conn.execute(table.delete().where(table.c.run_id == run_id))
            conn.execute(t.runs.delete().where(t.runs.c.run_id == run_id))

        self._write(delete)

    def with_locked_run(self, name: str, work: Callable[[LockedRun], T]) -> T:
        """``work`` on the run's series in one write transaction holding the run's lock.

        Raises ``UnknownRunError`` if the run does not exist (or was just deleted)."""

        def locked(conn: Connection) -> T:
            run = lock_run(conn, name)
            if run is None:
                raise UnknownRunError(name)
            return work(run)

        return self._write(locked)

    # -- scores and alerts -------------------------------------------------------------------

    def score_series(
        self,
        run_id: int,
        *,
        hook_point: str | None = None,
        feature: str | None = None,
        since_step: int | None = None,
        include_superseded: bool = False,
    ) -> list[ScoreRow]:
        """A run's scores in step order; with ``include_superseded``, also those of the checks
        resumes superseded (flagged), after the live point at the same step."""

        def select(table: sa.Table) -> sa.Select[Any]:
            query = sa.select(*[table.c[c.name] for c in SCORE_COLUMNS]).where(
                table.c.run_id == run_id
            )
            if hook_point:
                query = query.where(table.c.hook_point == hook_point)
            if feature:
                query = query.where(table.c.feature == feature)
            if since_step is not None:
                query = query.where(table.c.step >= since_step)
            return query

        def read(conn: Connection) -> list[ScoreRow]:
            rows = [to_score(r) for r in conn.execute(select(t.scores)).mappings()]
            if include_superseded:
                old = select(t.superseded_scores).order_by(t.superseded_scores.c.resume_id)
                rows += [to_score(r, superseded=True) for r in conn.execute(old).mappings()]
            return sorted(rows, key=lambda r: (r.step, r.hook_point, r.feature, r.superseded))

        return self._snapshot(read) if include_superseded else self._read(read)

    def list_alerts(self, run_id: int, state: str | None = None) -> list[AlertRow]:
        query = sa.select(t.alerts).where(t.alerts.c.run_id == run_id)
        if state:
            query = query.where(t.alerts.c.state == state)
        query = query.order_by(t.alerts.c.started_step, t.alerts.c.alert_id)
        return self._read(lambda conn: [to_alert(r) for r in conn.execute(query).mappings()])

    # -- training-sample attribution ---------------------------------------------------------

    def attribution_windows(
        self, run_id: int, since_step: int | None = None
    ) -> list[AttributionWindow]:
        """The run's live attribution windows with their top samples, in check step order; with
        ``since_step``, only those of checks at or after it."""
        table = t.sample_attributions
        query = sa.select(table).where(table.c.run_id == run_id).order_by(table.c.step)
        if since_step is not None:
            query = query.where(table.c.step >= since_step)
        return self._read(lambda conn: [to_window(r) for r in conn.execute(query).mappings()])

    def attribution_for_alert(
        self, run: str, *, hook_point: str | None, feature: str | None, severity: str | None
    ) -> AttributionWindow | None:
        """The latest attribution window of ``run`` at or before the step its alert on
        (``hook_point``, ``feature``, at ``severity`` if given) started firing (pending: started);
        without such an alert, at or before the run's latest check. None: no such run, or no
        window."""
        alerts, windows = t.alerts, t.sample_attributions

        def read(conn: Connection) -> AttributionWindow | None:
            found = conn.execute(
                sa.select(t.runs.c.run_id, t.runs.c.last_step).where(t.runs.c.name == run)
            ).first()
            if found is None:
                return None
            step = None
            if hook_point is not None and feature is not None:
                matching = [
                    alerts.c.run_id == found.run_id,
                    alerts.c.hook_point == hook_point,
                    alerts.c.feature == feature,
                ]
                if severity is not None:
                    matching.append(alerts.c.severity == severity)
                alerting = sa.func.coalesce(alerts.c.firing_step, alerts.c.started_step)
                step = conn.execute(sa.select(sa.func.max(alerting)).where(*matching)).scalar()
            if step is None:
                step = found.last_step
            if step is None:
                return None
            row = (
                conn.execute(
                    sa.select(windows)
                    .where(windows.c.run_id == found.run_id, windows.c.step <= step)
                    .order_by(windows.c.step.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
            return to_window(row) if row else None

        return self._snapshot(read)

    def metrics_snapshot(self) -> MetricsSnapshot:
        """What ``/metrics`` shows, in four queries whatever the number of runs."""

        def read(conn: Connection) -> MetricsSnapshot:
            counts = conn.execute(
                sa.select(t.runs.c.status, sa.func.count()).group_by(t.runs.c.status)
            ).all()
            # Each running run with its latest attribution window: two index lookups per run.
            windows, newer = t.sample_attributions, t.sample_attributions.alias("newer")
            latest_window = (
                sa.select(sa.func.max(newer.c.step))
                .where(newer.c.run_id == t.runs.c.run_id)
                .scalar_subquery()
            )
            running, attribution = [], {}
            for row in conn.execute(
                select_runs()
                .add_columns(*WINDOW_COUNTS)
                .outerjoin(
                    windows,
                    (windows.c.run_id == t.runs.c.run_id) & (windows.c.step == latest_window),
                )
                .where(t.runs.c.status == "running")
                .order_by(t.runs.c.name)
            ).mappings():
                running.append(to_run(row))
                window = to_window_counts(row)
                if window is not None:
                    attribution[row["run_id"]] = window
            latest_scores = conn.execute(
                sa.select(t.scores.c.run_id, *SCORE_COLUMNS[:-1])
                .join(
                    t.runs,
                    (t.runs.c.run_id == t.scores.c.run_id)
                    & (t.runs.c.last_step == t.scores.c.step),
                )
                .where(t.runs.c.status == "running")
                .order_by(t.scores.c.run_id, t.scores.c.hook_point, t.scores.c.feature)
            ).mappings()
            scores: dict[int, list[ScoreRow]] = {}
            for row in latest_scores:
                scores.setdefault(row["run_id"], []).append(
                    ScoreRow(
                        row["step"],
                        row["hook_point"],
                        row["feature"],
                        row["value"],
                        row["zscore"],
                        row["cusum"],
                        [],
                    )
                )
            active = conn.execute(
                sa.select(t.alerts)
                .join(t.runs, t.runs.c.run_id == t.alerts.c.run_id)
                .where(t.runs.c.status == "running", t.alerts.c.state != "resolved")
            ).mappings()
            alerts: dict[int, list[AlertRow]] = {}
            for row in active:
                alerts.setdefault(row["run_id"], []).append(to_alert(row))
            return MetricsSnapshot(dict(counts), running, scores, alerts, attribution)

        return self._snapshot(read)

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

        def merge(conn: Connection) -> bool:
            return bool(conn.execute(table.update().where(key).values(**changes)).rowcount)

        if self._write(merge):
            return False
        try:
            self._write(lambda conn: conn.execute(table.insert().values(**record.__dict__)))
        except sa.exc.IntegrityError:  # the same instance arrived concurrently: merge into it
            self._write(merge)
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
        fields = NotificationRecord.__dataclass_fields__
        return self._read(
            lambda conn: [
                NotificationRecord(**{k: row[k] for k in fields})
                for row in conn.execute(query).mappings()
            ]
        )
