"""Calibrate a probe pack on healthy fine-tunes of its model.

Fine-tuning moves every feature a little, misaligned or not. Calibration measures how far,
from the canary activations that healthy runs recorded at every check, in two steps:

1. the drift those runs share is measured and projected out of each misalignment direction;
   the drift-removed copies join the pack as features of their own
   (``monitor.probe_building.drift``);
2. each feature's z-score unit is its largest rise toward misalignment from the step-0
   baseline over every check of those runs, scored by the service's own ``score_activations``.
   A drift-removed direction was fitted to these very runs, so its unit comes from held-out
   rises: each run against the direction fitted on the others.

The thresholds are ``monitor.core.units.CALIBRATED_DETECTOR``: fixed multiples of the unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from monitor.core.detect import DetectorConfig, FeatureKey
from monitor.core.pack import FeatureCalibration, ProbePack, load_pack, write_calibration
from monitor.core.scoring import feature_signs, score_activations
from monitor.core.units import CALIBRATED_DETECTOR
from monitor.probe_building.drift import (
    DRIFT_REMOVED_METHOD,
    add_drift_removed_directions,
    held_out_shifts,
)
from monitor.trainer.recording import CheckRecording

# A watched SAE latent that never fired on a healthy run has no excursion to measure; its
# unit is then about one strong firing (~5) on one answer token of one of 16 canaries (~40
# tokens each): below that, a change is a single token's noise.
LATENT_FLOOR = 0.01

Trajectories = Mapping[str, torch.Tensor]  # hook point -> [n_checks, n_prompts, d_model]
Units = dict[str, dict[str, FeatureCalibration]]  # hook point -> feature -> unit


class CalibrationError(ValueError):
    """Healthy runs that cannot calibrate this pack, with what to do about it."""


def feature_rises(pack: ProbePack, trajectories: Trajectories) -> dict[FeatureKey, list[float]]:
    """Per feature, its rise toward misalignment at every check after the first, as the
    service would score it."""
    signs = feature_signs(pack)
    n_checks = int(next(iter(trajectories.values())).shape[0])
    values = [
        score_activations(pack, {hook: t[check] for hook, t in trajectories.items()})
        for check in range(n_checks)
    ]  # per check: feature -> [n_prompts]
    return {
        key: [signs[key] * float(v[key].mean() - values[0][key].mean()) for v in values[1:]]
        for key in values[0]
    }


def feature_units(pack: ProbePack, runs: Mapping[str, Trajectories]) -> Units:
    """Every feature's unit from the healthy ``runs`` (name -> trajectories); see the module
    docstring. ``pack`` already holds the drift-removed directions."""
    check_runs(pack, runs)
    rises: dict[FeatureKey, list[float]] = {}
    for trajectories in runs.values():
        scored = {hook: trajectories[hook] for hook in pack.hook_points}
        for key, series in feature_rises(pack, scored).items():
            rises.setdefault(key, []).extend(series)
    held_out: set[FeatureKey] = set()
    for hook, probe in pack.hooks.items():
        sources = {d.name: d for d in probe.directions}
        for direction in probe.directions:
            if direction.spec.method != DRIFT_REMOVED_METHOD:
                continue
            source = sources[direction.spec.details["source"]]
            per_run = held_out_shifts(source.unit, [t[hook] for t in runs.values()])
            rises[(hook, direction.feature)] = [float(x) for run in per_run for x in run]
            held_out.add((hook, direction.feature))
    names = ", ".join(sorted(runs))
    units: Units = {}
    for (hook, feature), values in sorted(rises.items()):
        floor = LATENT_FLOOR if feature.startswith("latent:") else DetectorConfig().min_scale
        how = (
            "held-out rise (drift fitted on the other runs)"
            if (hook, feature) in held_out
            else "rise"
        )
        units.setdefault(hook, {})[feature] = FeatureCalibration(
            scale=max(max(values), floor),
            mean_shift=sum(values) / len(values),
            n_checks=len(values),
            method=f"largest {how} from step 0 over healthy fine-tunes {names}",
        )
    return units


def check_runs(pack: ProbePack, runs: Mapping[str, Trajectories]) -> None:
    """Raise ``CalibrationError`` unless ``runs`` can calibrate ``pack``."""
    if len(runs) < 2:
        raise CalibrationError(
            f"calibration needs at least two healthy runs, got {len(runs)}: each drift-removed "
            "direction is checked on a run it was not fitted to"
        )
    for name, trajectories in runs.items():
        missing = sorted(set(pack.hook_points) - set(trajectories))
        if missing:
            raise CalibrationError(
                f"run {name!r} recorded {sorted(trajectories)} but the pack scores {missing} "
                "too; record the run with this pack (MonitorConfig(probe_pack=...))"
            )
        for hook in pack.hook_points:
            n_checks, _, d_model = trajectories[hook].shape
            if d_model != pack.d_model:
                raise CalibrationError(
                    f"run {name!r} has d_model {d_model} at {hook}, the pack {pack.d_model}: "
                    "the run is of another model"
                )
            if n_checks < 2:
                raise CalibrationError(
                    f"run {name!r} recorded {n_checks} check(s); calibration needs the "
                    "baseline and at least one check after it"
                )


def calibrate_pack(
    pack_dir: str | Path, runs: Mapping[str, Trajectories]
) -> tuple[ProbePack, Units]:
    """Add drift-removed directions to the pack at ``pack_dir`` and write every feature's unit
    and the calibrated thresholds into it, from the healthy ``runs`` (name -> trajectories).
    Running it again replaces the previous calibration."""
    pack = load_pack(pack_dir, release_loader=None)
    check_runs(pack, runs)
    pack = add_drift_removed_directions(
        pack_dir, {hook: [t[hook] for t in runs.values()] for hook in pack.hook_points}, list(runs)
    )
    units = feature_units(pack, runs)
    return write_calibration(pack_dir, units, CALIBRATED_DETECTOR), units


def calibrate_from_recordings(
    pack_dir: str | Path, recordings: Sequence[CheckRecording]
) -> tuple[ProbePack, Units]:
    """``calibrate_pack`` from recorded healthy runs, which must share one canary set."""
    hashes = {r.prompt_set_hash for r in recordings}
    if len(hashes) > 1:
        raise CalibrationError(
            f"the recordings used {len(hashes)} different canary sets; calibrate on runs that "
            "used the canaries your monitored runs will use"
        )
    names = [r.run for r in recordings]
    if len(set(names)) < len(names):
        raise CalibrationError(f"two recordings are of the same run: {sorted(names)}")
    return calibrate_pack(pack_dir, {r.run: r.trajectories() for r in recordings})
