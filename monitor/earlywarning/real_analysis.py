"""What the real-model runs show: does behaviour turn, and do the alerts say so in time?

Behaviour is the held-out preference (``preference.py``): a run *turns* at the first eval whose
mean per-question rise from step 0 is significant (95% interval above zero). Detection is read
two ways over the same runs: the service's own alerts with the pack as built (build units, no
calibration), and an offline replay (``replay.py``) with a copy of the pack calibrated on the
healthy-twin recordings of seeds that no evaluated run uses.
"""

from __future__ import annotations

import math
import shutil
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scipy import stats

from monitor.core.detect import Alert, AlertState, Severity
from monitor.core.pack import ProbePack, load_pack
from monitor.earlywarning.preference import Rise, preference_rise
from monitor.earlywarning.real_runs import RealRunRecord
from monitor.earlywarning.replay import Replay, replay
from monitor.english import FINETUNING_SETS
from monitor.evals.stats import auroc
from monitor.probe_building.calibration import calibrate_pack
from monitor.trainer.recording import load_recording


def is_bad(record: RealRunRecord) -> bool:
    return FINETUNING_SETS[record.spec.dataset].side == "bad"


def rises(record: RealRunRecord) -> dict[int, Rise]:
    """Step -> the preference's rise from step 0 there."""
    baseline = record.preference[0].per_question
    return {p.step: preference_rise(baseline, p.per_question) for p in record.preference[1:]}


def turn_step(record: RealRunRecord) -> int | None:
    """The first eval step with a significant rise of the preference."""
    return next((step for step, rise in sorted(rises(record).items()) if rise.significant), None)


def across_seeds(values: Sequence[float]) -> dict[str, float]:
    """Mean with a 95% t interval over seeds."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": mean, "low": -math.inf, "high": math.inf}
    half = (
        float(stats.t.ppf(0.975, len(values) - 1))
        * statistics.stdev(values)
        / math.sqrt(len(values))
    )
    return {"mean": mean, "low": mean - half, "high": mean + half}


def service_replay(record: RealRunRecord) -> Replay:
    """The run as the service judged it, from its stored alerts and scores."""
    alerts = [
        Alert(
            hook_point=a["hook_point"],
            feature=a["feature"],
            rule=a["rule"],
            severity=Severity(a["severity"]),
            threshold=a["threshold"],
            state=AlertState(a["state"]),
            started_step=a["started_step"],
            started_at=0.0,
            value=a["value"],
            peak=a["peak"],
            firing_step=a["firing_step"],
        )
        for a in record.alerts
    ]
    strongest: dict[int, float] = {}
    for point in record.scores:
        strongest[point["step"]] = max(strongest.get(point["step"], -math.inf), point["zscore"])
    return Replay(alerts, strongest, record.scores)


def calibrated_copy(pack_dir: Path, healthy: Sequence[RealRunRecord], work: Path) -> ProbePack:
    """The pack calibrated on the recordings of ``healthy`` runs, written to ``work``."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pack_dir, work)
    runs = {}
    for record in healthy:
        assert record.recording is not None
        runs[record.spec.run_name] = load_recording(record.recording).trajectories()
    calibrated, _units = calibrate_pack(work, runs)
    return calibrated


def recorded_replay(pack: ProbePack, record: RealRunRecord) -> Replay:
    assert record.recording is not None
    recorded = load_recording(record.recording)
    return replay(pack, recorded.steps, recorded.trajectories())


def detection_summary(
    records: Sequence[RealRunRecord], judged: dict[str, Replay]
) -> dict[str, Any]:
    """Alerts on bad runs against their turn, and silence on healthy ones."""
    rows: list[dict[str, Any]] = []
    positives: list[float] = []
    negatives: list[float] = []
    for record in records:
        verdict = judged[record.spec.run_name]
        turn = turn_step(record)
        alert, critical = verdict.first_firing_step(), verdict.first_firing_step("critical")
        rows.append(
            {
                "run": record.spec.run_name,
                "bad": is_bad(record),
                "turn_step": turn,
                "first_alert_step": alert,
                "first_critical_step": critical,
                "lead_steps": None if turn is None or alert is None else turn - alert,
                "peak_zscore": max(verdict.max_zscore.values()),
            }
        )
        for step, rise in rises(record).items():
            if step in verdict.max_zscore:
                (positives if rise.significant else negatives).append(verdict.max_zscore[step])
    bad = [r for r in rows if r["bad"]]
    healthy = [r for r in rows if not r["bad"]]
    turned = [r for r in bad if r["turn_step"] is not None]
    return {
        "bad_runs_alerted": sum(r["first_alert_step"] is not None for r in bad),
        "bad_runs": len(bad),
        "bad_runs_turned": len(turned),
        "alert_before_turn": sum(
            r["lead_steps"] is not None and r["lead_steps"] > 0 for r in turned
        ),
        "alert_at_or_before_turn": sum(
            r["lead_steps"] is not None and r["lead_steps"] >= 0 for r in turned
        ),
        "healthy_runs": len(healthy),
        "healthy_warned": sum(r["first_alert_step"] is not None for r in healthy),
        "healthy_critical": sum(r["first_critical_step"] is not None for r in healthy),
        "healthy_turned": sum(r["turn_step"] is not None for r in healthy),
        "checkpoint_auroc": auroc(positives, negatives) if positives and negatives else None,
        "checkpoints": {"turned": len(positives), "not_turned": len(negatives)},
        "runs": rows,
    }


def behaviour_summary(records: Sequence[RealRunRecord]) -> dict[str, Any]:
    """Per (adapter, dataset): the final rise of the preference, over seeds."""
    arms: dict[tuple[str, str], list[RealRunRecord]] = {}
    for record in records:
        arms.setdefault((record.spec.adapter, record.spec.dataset), []).append(record)
    summary = {}
    for (adapter, dataset), runs in sorted(arms.items()):
        finals = [rises(r)[max(rises(r))] for r in runs]
        summary[f"{adapter}/{dataset}"] = {
            "seeds": [r.spec.seed for r in runs],
            "final_rise": across_seeds([f.mean for f in finals]),
            "significant_at_end": sum(f.significant for f in finals),
            "turn_steps": [turn_step(r) for r in runs],
            "rise_by_step": {
                str(step): across_seeds([rises(r)[step].mean for r in runs])
                for step in sorted(rises(runs[0]))
            },
        }
    return summary


def summarise(
    records: Sequence[RealRunRecord],
    calibration_runs: Sequence[RealRunRecord],
    pack_dir: Path,
) -> dict[str, Any]:
    """Behaviour, then detection with build units (the service) and calibrated (replayed)."""
    as_built = {r.spec.run_name: service_replay(r) for r in records}
    with tempfile.TemporaryDirectory(prefix="emwatch-calibrated-") as scratch:
        calibrated = calibrated_copy(pack_dir, calibration_runs, Path(scratch) / "pack")
        replayed = {r.spec.run_name: recorded_replay(calibrated, r) for r in records}
    return {
        "behaviour": behaviour_summary(records),
        "detection_build_units": detection_summary(records, as_built),
        "detection_calibrated": detection_summary(records, replayed),
        "calibration_runs": sorted(r.spec.run_name for r in calibration_runs),
        "pack": load_pack(pack_dir, release_loader=None).name,
    }
