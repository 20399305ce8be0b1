"""Calibrate a probe pack on healthy fine-tunes of its model.

Fine-tuning moves every feature a little, misaligned or not. Calibration measures how far,
from the canary activations that healthy runs recorded at every check, in two steps:

1. the drift those runs share is measured and projected out of each misalignment direction;
   the drift-removed copies join the pack as features of their own
   (``monitor.probe_building.drift``);
2. each feature's z-score unit is its largest rise toward misalignment from the step-0
   baseline over every check of those runs, scored by the service's own ``score_activations``.
   A drift-removed direction was fitted to these very runs, so its unit comes from held-out
   rises: each run against the direction fitted on the others. When the runs name their
   datasets and there are at least ``MIN_DATASETS_HELD_OUT`` of them, a run is held out
   against the drift of the *other datasets*: a healthy fine-tune in the field is on data
   the drift was never fitted on, and same-dataset runs would hide how far that goes.

Broad healthy data matters more than anything else here: on the organism, a pack calibrated
on two healthy datasets paged critically on a healthy fine-tune in a third domain, and one
calibrated on four other healthy datasets did not (docs/early-warning.md, held-out domains).

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
# With two datasets, holding one out fits the drift on the other alone, and the units come out
# so large that emergent misalignment alerted after its onset (development seed 7); from three
# on, the held-out-dataset units kept every alert before onset and removed the one false
# warning of the per-run units on held-out healthy domains (calibration seeds 100-102 and
# development seed 7 only; ``emwatch bench held-out-domains``).
MIN_DATASETS_HELD_OUT = 3

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


def feature_units(
    pack: ProbePack, runs: Mapping[str, Trajectories], groups: Mapping[str, str] | None = None
) -> Units:
    """Every feature's unit from the healthy ``runs`` (name -> trajectories); see the module
    docstring. ``pack`` already holds the drift-removed directions. ``groups`` (run name ->
    dataset) holds out whole datasets for the drift-removed units (``held_out_shifts``)."""
    check_runs(pack, runs)
    group_names = None if groups is None else [groups[name] for name in runs]
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
            per_run = held_out_shifts(
                source.unit, [t[hook] for t in runs.values()], groups=group_names
            )
            rises[(hook, direction.feature)] = [float(x) for run in per_run for x in run]
            held_out.add((hook, direction.feature))
    names = ", ".join(sorted(runs))
    units: Units = {}
    for (hook, feature), values in sorted(rises.items()):
        floor = LATENT_FLOOR if feature.startswith("latent:") else DetectorConfig().min_scale
        others = "runs" if groups is None else "datasets"
        how = (
            f"held-out rise (drift fitted on the other {others})"
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


def held_out_groups(datasets: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """Run name -> dataset, if the runs span enough datasets to hold whole ones out."""
    if datasets is None or len(set(datasets.values())) < MIN_DATASETS_HELD_OUT:
        return None
    return datasets


def calibrate_pack(
    pack_dir: str | Path,
    runs: Mapping[str, Trajectories],
    datasets: Mapping[str, str] | None = None,
) -> tuple[ProbePack, Units]:
    """Add drift-removed directions to the pack at ``pack_dir`` and write every feature's unit
    and the calibrated thresholds into it, from the healthy ``runs`` (name -> trajectories;
    ``datasets``: name -> the dataset it trained on, see the module docstring). Running it
    again replaces the previous calibration."""
    pack = load_pack(pack_dir, release_loader=None)
    check_runs(pack, runs)
    if datasets is not None and set(datasets) != set(runs):
        raise CalibrationError(
            f"datasets are named for {sorted(datasets)} but the runs are {sorted(runs)}; "
            "name the dataset of every run or of none"
        )
    pack = add_drift_removed_directions(
        pack_dir, {hook: [t[hook] for t in runs.values()] for hook in pack.hook_points}, list(runs)
    )
    units = feature_units(pack, runs, held_out_groups(datasets))
    return write_calibration(pack_dir, units, CALIBRATED_DETECTOR), units


def calibrate_from_recordings(
    pack_dir: str | Path,
    recordings: Sequence[CheckRecording],
    datasets: Mapping[str, str] | None = None,
) -> tuple[ProbePack, Units]:
    """``calibrate_pack`` from recorded healthy runs, which must share one canary set
    (``datasets``: run name -> dataset, optional)."""
    hashes = {r.prompt_set_hash for r in recordings}
    if len(hashes) > 1:
        raise CalibrationError(
            f"the recordings used {len(hashes)} different canary sets; calibrate on runs that "
            "used the canaries your monitored runs will use"
        )
    names = [r.run for r in recordings]
    if len(set(names)) < len(names):
        raise CalibrationError(f"two recordings are of the same run: {sorted(names)}")
    return calibrate_pack(pack_dir, {r.run: r.trajectories() for r in recordings}, datasets)
