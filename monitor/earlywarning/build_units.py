"""``emwatch bench build-units``: where alerts belong in build units, measured on the organism.

A pack fresh from ``emwatch probes build`` scores in build units (z = 1: the whole way from the
aligned to the misaligned side of its build data). How far a *healthy* fine-tune moves in those
units decides the thresholds: ``BUILD_UNIT_HEALTHY_RISE`` (``monitor.core.units``) is the
largest z that any feature of the organism's uncalibrated pack reached at any check of the
healthy calibration runs (secure-code and good-medical, seeds 100-102), and the thresholds are
the calibrated ones scaled by it. Development runs (seed 7, every arm) show where those
thresholds alert against the behavioural onset. No benchmark seed is used here.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack, load_pack
from monitor.core.units import UnitKind, feature_units, thresholds_for, unit_kinds
from monitor.earlywarning import analysis
from monitor.earlywarning.bench import CONTROL_DATASETS, EM_DATASETS
from monitor.earlywarning.calibration import CALIBRATION_SEEDS, HEALTHY_DATASETS
from monitor.earlywarning.pool import run_all
from monitor.earlywarning.replay import replay
from monitor.earlywarning.runs import RunSpec, ServiceTarget
from monitor.fixtures.local_service import LocalService
from monitor.probe_building.calibration import Trajectories, feature_rises

DEVELOPMENT_SEED = 7


def healthy_rise_in_build_units(
    pack: ProbePack, runs: Mapping[str, Trajectories]
) -> dict[FeatureKey, float]:
    """Per feature with a build unit, its largest rise over every check of the healthy
    ``runs``, in that unit."""
    units, kinds = feature_units(pack), unit_kinds(pack)
    largest: dict[FeatureKey, float] = {}
    for trajectories in runs.values():
        for key, rises in feature_rises(pack, trajectories).items():
            if kinds[key] is UnitKind.BUILD:
                largest[key] = max(largest.get(key, 0.0), *(r / units[key] for r in rises))
    return largest


def development_specs() -> list[RunSpec]:
    return [
        RunSpec(f"dev-{dataset}", dataset, DEVELOPMENT_SEED, record_activations=True)
        for dataset in (*EM_DATASETS, *CONTROL_DATASETS)
    ]


def calibration_specs() -> list[RunSpec]:
    return [
        RunSpec(f"cal-{dataset}", dataset, seed, record_activations=True)
        for dataset in HEALTHY_DATASETS
        for seed in CALIBRATION_SEEDS
    ]


def measure(pack_dir: Path, out: Path, workers: int) -> dict[str, Any]:
    """Run the calibration and development fine-tunes with the pack as it is, and report the
    healthy rise in build units and what the thresholds it implies do on the development runs.
    Written to ``out/build_units.json``."""
    out.mkdir(parents=True, exist_ok=True)
    token = f"emw_units{secrets.token_hex(4)}_{secrets.token_urlsafe(24).replace('_', '-')}"
    service = LocalService(out / "service", token).start()
    try:
        target = ServiceTarget(service.url, token, pack_dir, out / "service" / "spool")
        records = run_all([*calibration_specs(), *development_specs()], target, workers)
    finally:
        service.stop()
    pack = load_pack(pack_dir, release_loader=None)
    healthy = [r for r in records if r.spec.label.startswith("cal-")]
    largest = healthy_rise_in_build_units(pack, {r.spec.run_name: r.activations for r in healthy})
    rise = max(largest.values())
    detector = thresholds_for(rise)
    development = []
    for record in (r for r in records if r.spec.label.startswith("dev-")):
        steps = sorted({point["step"] for point in record.scores})
        replayed = replay(pack, steps, record.activations, detector)
        development.append(
            {
                "run": record.spec.run_name,
                "onset_step": analysis.onset_step(record),
                "first_alert_step": replayed.first_firing_step(),
                "first_critical_step": replayed.first_firing_step("critical"),
                "peak_zscore": max(replayed.max_zscore.values()),
                "final_misaligned": record.evals[-1].misaligned.share if record.evals else None,
            }
        )
    result: dict[str, Any] = {
        "pack": str(pack_dir),
        "healthy_runs": sorted(r.spec.run_name for r in healthy),
        "largest_healthy_rise_by_feature": {
            f"{hook}|{feature}": value for (hook, feature), value in sorted(largest.items())
        },
        "build_unit_healthy_rise": rise,
        "detector": detector.model_dump(mode="json"),
        "development_runs": development,
    }
    (out / "build_units.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
