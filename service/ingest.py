"""Ingesting a check: decode, admit, score, then detect and store in one locked transaction.

Decoding and scoring need only the pack and happen before the transaction. Everything that
depends on the run's series happens inside ``Store.with_locked_run``: the check's step is
looked up, the detector replayed from the nearest saved state (``service/replay.py``), and the
check, its scores and its training-sample attribution summary (if it carries one), the replayed
checks' new states, the alerts and the run row are written, all while holding the run's lock.
So concurrent checks of one run, on any number of replicas, serialise on the database and each
sees the series as the one before it left it.

Idempotent on (run, step): a repeat of a stored check is answered from the store and stores
nothing (its attribution summary included), the same key with different content is a conflict.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

from monitor.core.detect import Alert, AlertState, Observation
from monitor.core.pack import ProbePack
from monitor.core.scoring import ScoringError, score_activations
from monitor.core.wire import Check, content_hash
from service.access import require_run_writer
from service.check_input import CheckLimits, ScoringCopies, read_check
from service.errors import ApiError
from service.metrics import ServiceMetrics
from service.packs import PackRegistry
from service.replay import DetectorSpec, alert_row, replay
from service.schemas import AlertOut, CheckResult, SignalOut
from service.store import Store
from service.store.errors import UnknownRunError
from service.store.locked_run import LockedRun
from service.store.records import RunRecord, StoredCheck, TokenRecord


def unknown_run(name: str) -> ApiError:
    return ApiError(
        404, "unknown_run", f"no run named {name!r}; create it first with POST /v1/runs"
    )


def _admit(run: RunRecord, check: Check, token: TokenRecord) -> None:
    """Refuse a check the run cannot take; called before scoring and again under the lock."""
    require_run_writer(token, run)
    if run.status != "running":
        raise ApiError(
            409,
            "run_not_running",
            f"run {run.name!r} is {run.status}; set its status back to running to add checks",
        )
    if run.prompt_set_hash and run.prompt_set_hash != check.prompt_set_hash:
        raise ApiError(
            422,
            "prompt_set_mismatch",
            f"run {run.name!r} uses canary prompt set {run.prompt_set_hash[:12]}… but this "
            f"check was taken on {check.prompt_set_hash[:12]}…; keep one canary set for the "
            "whole run",
        )
    if run.n_prompts is not None and run.n_prompts != check.n_prompts:
        raise ApiError(
            422,
            "prompt_count_mismatch",
            f"the check carries {check.n_prompts} prompts per hook point but run "
            f"{run.name!r} has {run.n_prompts} in every check since its first; send the same "
            "canary prompts with every check",
        )


class StalePackError(Exception):
    """The run under the lock has another pack than the one the check was scored with."""

    def __init__(self, run: RunRecord) -> None:
        super().__init__(run.name)
        self.run = run


def _score(pack: ProbePack, check: Check) -> dict[tuple[str, str], list[float]]:
    try:
        scores = score_activations(pack, ScoringCopies(check))
    except ScoringError as exc:
        raise ApiError(422, "incompatible_activations", str(exc)) from exc
    return {key: values.tolist() for key, values in scores.items()}


class IngestService:
    def __init__(
        self, store: Store, packs: PackRegistry, metrics: ServiceMetrics, limits: CheckLimits
    ) -> None:
        self.store = store
        self.packs = packs
        self.metrics = metrics
        self.limits = limits
        # Run name -> its record as last seen, for the pack only: a run's pack never changes,
        # and everything else is read again under the lock. A deleted and recreated run with
        # another pack is caught there (``StalePackError``) and scored again.
        self._runs: dict[str, RunRecord] = {}

    def ingest(
        self, run_name: str, body: bytes | bytearray, token: TokenRecord
    ) -> tuple[CheckResult, bool]:
        """Returns the result and whether it was newly stored (False: an exact repeat)."""
        started = time.perf_counter()
        outcome = "error"
        try:
            result, outcome = self._ingest(run_name, body, token)
            return result, outcome == "stored"
        except ApiError as exc:
            outcome = {404: "unknown_run", 409: "conflict"}.get(exc.status, "invalid")
            raise
        finally:
            self.metrics.checks_received.labels(outcome).inc()
            self.metrics.ingest_duration.observe(time.perf_counter() - started)

    def _ingest(
        self, run_name: str, body: bytes | bytearray, token: TokenRecord
    ) -> tuple[CheckResult, str]:
        check = read_check(body, self.limits)
        if check.run != run_name:
            raise ApiError(
                422,
                "run_mismatch",
                f"the check is for run {check.run!r} but was sent to run {run_name!r}",
            )
        digest = content_hash(check)
        run = self._runs.get(run_name)
        if run is None:
            run = self.store.get_run(run_name)
            if run is None:
                raise unknown_run(run_name)
            _admit(run, check, token)  # refuse before scoring, when the record is fresh
        for _attempt in range(2):
            pack = self.packs.load_for(run)
            per_prompt = _score(pack, check)
            try:
                record = functools.partial(
                    self._record,
                    pack=pack,
                    pack_hash=run.pack_hash,
                    check=check,
                    token=token,
                    digest=digest,
                    per_prompt=per_prompt,
                )
                return self.store.with_locked_run(run_name, record)
            except UnknownRunError as exc:  # deleted while this check was being scored
                self._runs.pop(run_name, None)
                raise unknown_run(run_name) from exc
            except StalePackError as exc:  # recreated with another pack: score again
                run = exc.run
        raise ApiError(409, "run_conflict", f"run {run_name!r} keeps changing; retry")

    def _record(
        self,
        locked: LockedRun,
        *,
        pack: ProbePack,
        pack_hash: str,
        check: Check,
        token: TokenRecord,
        digest: str,
        per_prompt: dict[tuple[str, str], list[float]],
    ) -> tuple[CheckResult, str]:
        received_at = time.time()
        run = locked.run
        self._runs[run.name] = run
        if run.pack_hash != pack_hash:  # the check was scored with the pack of another run
            raise StalePackError(run)
        found = locked.lookup(check.step)
        if found.stored_hash is not None:
            require_run_writer(token, run)
            return self._repeat(locked, check, digest, found.stored_hash), "duplicate"
        _admit(run, check, token)
        new = StoredCheck(check.step, digest, received_at, per_prompt)
        result = replay(locked, DetectorSpec.of(run, pack), found.saved, new)
        locked.write_series(result.after_step, result.replayed, result.appended_only)
        if check.attribution is not None:
            locked.write_attribution(check.step, check.attribution)
        alerts = result.detector.alerts()
        rows = [alert_row(a) for a in alerts]
        if not (result.appended_only and rows == result.alerts_before):
            locked.replace_alerts(rows)
        locked.update_run(
            n_checks=run.n_checks + 1,
            last_step=check.step if run.last_step is None else max(check.step, run.last_step),
            last_check_at=received_at,
            baseline_step=result.detector.baseline_step,
            prompt_set_hash=check.prompt_set_hash,
            n_prompts=check.n_prompts,
        )
        observation = result.observations[check.step]
        return _result(run.name, observation, alerts), "stored"

    @staticmethod
    def _repeat(locked: LockedRun, check: Check, digest: str, stored_hash: str) -> CheckResult:
        run = locked.run
        if stored_hash != digest:
            raise ApiError(
                409,
                "step_conflict",
                f"run {run.name!r} already has a different check at step {check.step}; checks "
                "are immutable: send a new step, resume the run from an earlier step (POST "
                f"/v1/runs/{run.name}/resume) if training restarted from a checkpoint, or use a "
                "new run name if it restarted from scratch",
            )
        signals = [
            SignalOut(
                hook_point=r.hook_point,
                feature=r.feature,
                value=r.value,
                zscore=r.zscore,
                cusum=r.cusum,
            )
            for r in locked.scores_at(check.step)
        ]
        active = [AlertOut.of(a) for a in locked.alerts() if a.state != AlertState.RESOLVED.value]
        return CheckResult(
            run=run.name, step=check.step, duplicate=True, signals=signals, alerts=active
        )


def _result(run: str, observation: Observation, alerts: Sequence[Alert]) -> CheckResult:
    signals = [
        SignalOut(hook_point=h, feature=f, value=s.value, zscore=s.zscore, cusum=s.cusum)
        for (h, f), s in observation.signals.items()
    ]
    active = [AlertOut.of(alert_row(a)) for a in alerts if a.state != AlertState.RESOLVED]
    return CheckResult(
        run=run, step=observation.step, duplicate=False, signals=signals, alerts=active
    )
