"""Ingesting a check: decode, validate against the run and its pack, score, detect, store.

Idempotent on (run, step): a repeat of a stored check is answered from the store, the same key
with different content is a conflict. Checks may arrive out of order (a trainer replaying its
spool after an outage); then the run's detector is rebuilt from the full stored series so the
result is the same as if every check had arrived in order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

from monitor.core.detect import Alert, AlertState, Detector, DetectorConfig, Observation
from monitor.core.pack import ProbePack
from monitor.core.scoring import ScoringError, feature_signs, score_activations
from monitor.core.units import feature_units
from monitor.core.wire import Check, WireFormatError, content_hash, decode_check
from service.errors import ApiError
from service.metrics import ServiceMetrics
from service.packs import PackRegistry
from service.schemas import AlertOut, CheckResult, SignalOut
from service.store import Store
from service.store.records import AlertRow, RunRecord, ScoreRow, StoredCheck
from service.store.store import DuplicateKeyError, StaleRunError

_MAX_ATTEMPTS = 5


def _alert_row(alert: Alert) -> AlertRow:
    return AlertRow(
        alert.alert_id,
        alert.hook_point,
        alert.feature,
        alert.rule,
        alert.severity.value,
        alert.state.value,
        alert.threshold,
        alert.value,
        alert.peak,
        alert.started_step,
        alert.started_at,
        alert.firing_step,
        alert.firing_at,
        alert.resolved_step,
        alert.resolved_at,
    )


def _score_rows(
    observation: Observation, per_prompt: Mapping[tuple[str, str], Sequence[float]]
) -> list[ScoreRow]:
    return [
        ScoreRow(
            observation.step,
            hook,
            feature,
            s.value,
            s.zscore,
            s.cusum,
            [float(v) for v in per_prompt[(hook, feature)]],
        )
        for (hook, feature), s in observation.signals.items()
    ]


class IngestService:
    def __init__(self, store: Store, packs: PackRegistry, metrics: ServiceMetrics) -> None:
        self.store = store
        self.packs = packs
        self.metrics = metrics
        self._run_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, run: str) -> threading.Lock:
        with self._locks_guard:
            return self._run_locks.setdefault(run, threading.Lock())

    def ingest(self, run_name: str, body: bytes) -> tuple[CheckResult, bool]:
        """Returns the result and whether it was newly stored (False: an exact repeat)."""
        started = time.perf_counter()
        outcome = "error"
        try:
            result, outcome = self._ingest(run_name, body)
            return result, outcome == "stored"
        except ApiError as exc:
            outcome = {404: "unknown_run", 409: "conflict"}.get(exc.status, "invalid")
            raise
        finally:
            self.metrics.checks_received.labels(outcome).inc()
            self.metrics.ingest_duration.observe(time.perf_counter() - started)

    def _ingest(self, run_name: str, body: bytes) -> tuple[CheckResult, str]:
        try:
            check = decode_check(body)
        except WireFormatError as exc:
            raise ApiError(400, "invalid_check", str(exc)) from exc
        if check.run != run_name:
            raise ApiError(
                422,
                "run_mismatch",
                f"the check is for run {check.run!r} but was sent to run {run_name!r}",
            )
        with self._lock(run_name):
            for _ in range(_MAX_ATTEMPTS):
                run = self._running_run(run_name)
                pack = self.packs.load(run.probe_pack)
                try:
                    return self._ingest_into(run, pack, check)
                except StaleRunError:
                    continue  # another process stored a check of this run first; redo
        raise ApiError(503, "busy", f"run {run_name!r} is receiving concurrent checks; retry")

    def _running_run(self, run_name: str) -> RunRecord:
        run = self.store.get_run(run_name)
        if run is None:
            raise ApiError(
                404, "unknown_run", f"no run named {run_name!r}; create it first with POST /v1/runs"
            )
        if run.status != "running":
            raise ApiError(
                409,
                "run_not_running",
                f"run {run_name!r} is {run.status}; set its status back to running to add checks",
            )
        return run

    def _ingest_into(
        self, run: RunRecord, pack: ProbePack, check: Check
    ) -> tuple[CheckResult, str]:
        digest = content_hash(check)
        stored_hash = self.store.check_hash(run.run_id, check.step)
        if stored_hash is not None:
            return self._repeat(run, check, digest, stored_hash), "duplicate"
        if run.prompt_set_hash and run.prompt_set_hash != check.prompt_set_hash:
            raise ApiError(
                422,
                "prompt_set_mismatch",
                f"run {run.name!r} uses canary prompt set {run.prompt_set_hash[:12]}… "
                f"but this check was taken on {check.prompt_set_hash[:12]}…; keep one "
                "canary set for the whole run",
            )
        try:
            per_prompt = {
                key: values.tolist()
                for key, values in score_activations(pack, check.activations).items()
            }
        except ScoringError as exc:
            raise ApiError(422, "incompatible_activations", str(exc)) from exc
        received_at = time.time()
        detector, observation, rows = self._detect(run, pack, check.step, per_prompt, received_at)
        try:
            self.store.record_check(
                run,
                step=check.step,
                content_hash=digest,
                received_at=received_at,
                prompt_set_hash=check.prompt_set_hash,
                score_rows=rows,
                alerts=[_alert_row(a) for a in detector.alerts()],
                detector_state=detector.to_state(),
                replace_scores=len(rows) > len(observation.signals),
            )
        except DuplicateKeyError:
            stored_hash = self.store.check_hash(run.run_id, check.step)
            assert stored_hash is not None
            return self._repeat(run, check, digest, stored_hash), "duplicate"
        return self._result(run.name, check.step, observation, detector.alerts(), False), "stored"

    def _detect(
        self,
        run: RunRecord,
        pack: ProbePack,
        step: int,
        per_prompt: dict[tuple[str, str], list[float]],
        received_at: float,
    ) -> tuple[Detector, Observation, list[ScoreRow]]:
        """Observe the new check; rebuild from the stored series when it is out of order.

        Returns the detector, the new check's observation and the score rows to write: just the
        new check's when appended, every check's when rebuilt (later z-scores and CUSUMs move).
        """
        config = DetectorConfig.model_validate(run.detector_config)
        signs, scales = feature_signs(pack), feature_units(pack)
        if run.detector_state is not None and step > (run.last_step or -1):
            detector = Detector.from_state(config, signs, scales, run.detector_state)
            appended = detector.observe(step, per_prompt, received_at)
            return detector, appended, _score_rows(appended, per_prompt)
        series = [*self.store.stored_checks(run.run_id), StoredCheck(step, received_at, per_prompt)]
        detector = Detector(config, signs, scales)
        rows: list[ScoreRow] = []
        observations = {}
        for stored in sorted(series, key=lambda c: c.step):
            observations[stored.step] = detector.observe(
                stored.step, stored.per_prompt, stored.received_at
            )
            rows.extend(_score_rows(observations[stored.step], stored.per_prompt))
        return detector, observations[step], rows

    def _repeat(self, run: RunRecord, check: Check, digest: str, stored_hash: str) -> CheckResult:
        if stored_hash != digest:
            raise ApiError(
                409,
                "step_conflict",
                f"run {run.name!r} already has a different check at step {check.step}"
                "; checks are immutable: send a new step, or a new run name if the "
                "training restarted from scratch",
            )
        rows = self.store.score_series(run.run_id, since_step=check.step)
        signals = [
            SignalOut(
                hook_point=r.hook_point,
                feature=r.feature,
                value=r.value,
                zscore=r.zscore,
                cusum=r.cusum,
            )
            for r in rows
            if r.step == check.step
        ]
        active = [
            AlertOut.of(a)
            for a in self.store.list_alerts(run.run_id)
            if a.state != AlertState.RESOLVED.value
        ]
        return CheckResult(
            run=run.name, step=check.step, duplicate=True, signals=signals, alerts=active
        )

    @staticmethod
    def _result(
        run: str, step: int, observation: Observation, alerts: list[Alert], duplicate: bool
    ) -> CheckResult:
        signals = [
            SignalOut(hook_point=h, feature=f, value=s.value, zscore=s.zscore, cusum=s.cusum)
            for (h, f), s in observation.signals.items()
        ]
        active = [AlertOut.of(_alert_row(a)) for a in alerts if a.state != AlertState.RESOLVED]
        return CheckResult(run=run, step=step, duplicate=duplicate, signals=signals, alerts=active)
