"""Calibration: units from healthy rises (held out for drift-removed directions), thresholds in
those units, written into a pack."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from monitor.core.pack import ProbePack, load_pack, write_calibration
from monitor.core.scoring import feature_signs
from monitor.core.units import CRITICAL_MULTIPLE, WARNING_MULTIPLE, feature_units
from monitor.earlywarning.bench import BenchPlan
from monitor.earlywarning.calibration import calibrate
from monitor.earlywarning.runs import EvalPoint, RunRecord, RunSpec
from monitor.evals.stats import Proportion
from monitor.probe_building.calibration import LATENT_FLOOR
from monitor.probe_building.drift import add_drift_removed_directions
from tests.factories import D_MODEL, make_pack


@pytest.fixture
def pack(tmp_path: Path) -> ProbePack:
    return make_pack(tmp_path / "pack", hooks=("model.layers.1",), with_sae=False)


def healthy_run(
    seed: int, hook: str, mean_steps: list[torch.Tensor], logprobs: list[float]
) -> RunRecord:
    """A healthy run whose two canaries' mean activation moves by ``mean_steps``."""
    means = torch.stack([torch.zeros(D_MODEL), *mean_steps])  # [n_checks, d]
    spread = torch.stack([torch.ones(D_MODEL), -torch.ones(D_MODEL)])  # [2, d]
    evals = [
        EvalPoint(2 * i, Proportion(1, 100), Proportion(90, 100), Proportion(0, 32), lp)
        for i, lp in enumerate(logprobs)
    ]
    spec = RunSpec("cal-secure-code", "secure-code", seed, record_activations=True)
    return RunRecord(spec, evals, activations={hook: means[:, None, :] + spread[None]})


def test_unit_is_the_largest_rise_toward_misalignment(pack: ProbePack) -> None:
    hook = pack.hook_points[0]
    unit = pack.hooks[hook].directions[0].unit
    runs = [
        healthy_run(100, hook, [0.2 * unit, -0.6 * unit], [-2.0, -1.97, -2.01]),
        healthy_run(101, hook, [0.4 * unit, 0.1 * unit], [-2.0, -2.05, -1.99]),
    ]
    calibration = calibrate(runs, pack)
    direction = calibration.features[hook]["direction:em"]
    assert direction.scale == pytest.approx(0.4)  # run 101 rose by 0.4; the -0.6 fall is safe
    assert direction.n_checks == 4  # step 0 is the baseline itself
    assert calibration.logprob_unit == pytest.approx(0.03)
    assert calibration.logprob_threshold == pytest.approx(WARNING_MULTIPLE * 0.03)
    rule = calibration.detector.rules["persistence"]
    assert (rule.warning, rule.critical) == (WARNING_MULTIPLE, CRITICAL_MULTIPLE)


def test_latents_that_never_fired_get_the_floor(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "sae-pack", hooks=("model.layers.1",))
    hook = pack.hook_points[0]
    still = [torch.zeros(D_MODEL) for _ in range(2)]
    runs = [healthy_run(100, hook, still, [-1.0]), healthy_run(101, hook, still, [-1.0])]
    features = calibrate(runs, pack).features[hook]
    assert features["latent:5"].scale == LATENT_FLOOR


def test_drift_removed_direction_is_calibrated_on_held_out_rises(pack: ProbePack) -> None:
    hook = pack.hook_points[0]
    unit = pack.hooks[hook].directions[0].unit
    side = torch.zeros(D_MODEL)
    side[0] = 1.0
    side -= (side @ unit) * unit  # a direction orthogonal to the misalignment direction
    side /= side.norm()
    common = 0.5 * (unit + side)  # the drift every healthy run shares
    runs = [
        healthy_run(100, hook, [common, 2 * common], [-1.0]),
        healthy_run(101, hook, [2 * common], [-1.0]),
        healthy_run(102, hook, [common + 0.1 * unit], [-1.0]),  # a little extra of its own
    ]
    pack = add_drift_removed_directions(
        pack.directory, {hook: [r.activations[hook] for r in runs]}, ["a", "b", "c"]
    )
    features = calibrate(runs, pack).features[hook]
    assert features["direction:em"].scale == pytest.approx(1.0)  # 2 x 0.5 along the raw unit
    removed = features["direction:em-drift-removed"]
    assert removed.scale < 0.25 * features["direction:em"].scale
    assert "held-out" in removed.method
    assert removed.n_checks == 4


def test_calibration_is_written_into_the_pack_and_read_back(pack: ProbePack) -> None:
    hook = pack.hook_points[0]
    unit = pack.hooks[hook].directions[0].unit
    runs = [
        healthy_run(100, hook, [0.3 * unit], [-1.0]),
        healthy_run(101, hook, [0.1 * unit], [-1.0]),
    ]
    calibration = calibrate(runs, pack)
    write_calibration(pack.directory, calibration.features, calibration.detector)
    reloaded = load_pack(pack.directory, release_loader=None)
    assert feature_units(reloaded) == {(hook, "direction:em"): pytest.approx(0.3)}
    assert reloaded.manifest.detector == calibration.detector
    assert feature_signs(reloaded) == feature_signs(pack)


def test_calibration_needs_runs_with_activations(pack: ProbePack) -> None:
    with pytest.raises(ValueError, match="at least two healthy runs"):
        calibrate([], pack)
    bare = RunRecord(RunSpec("cal-secure-code", "secure-code", 100))
    with pytest.raises(ValueError, match="recorded no activations"):
        calibrate([bare], pack)


def test_benchmark_refuses_seeds_that_served_calibration() -> None:
    plan = BenchPlan(
        seeds=(0, 100), mixture_seeds=(0,), mixture_fractions=(0.05,), calibration_seeds=(100,)
    )
    with pytest.raises(ValueError, match=r"\[100\] would serve calibration and benchmark"):
        plan.bench_specs()
    assert {s.seed for s in BenchPlan.full().bench_specs()}.isdisjoint(
        BenchPlan.full().calibration_seeds
    )
