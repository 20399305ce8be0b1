"""Calibration: units from healthy excursions, thresholds in those units, written into a pack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.earlywarning.bench import BenchPlan
from monitor.earlywarning.calibration import (
    CRITICAL_MULTIPLE,
    LATENT_FLOOR,
    WARNING_MULTIPLE,
    calibrate,
)
from monitor.earlywarning.runs import EvalPoint, RunRecord, RunSpec
from monitor.evals.stats import Proportion
from monitor.probe import load_pack, write_calibration
from monitor.scoring import calibrated_scales, feature_signs
from tests.factories import make_pack

HOOK = "model.layers.1"


def healthy_run(seed: int, direction: list[list[float]], logprobs: list[float]) -> RunRecord:
    scores: list[dict[str, Any]] = []
    for step, values in enumerate(direction):
        for feature, per_prompt in (("direction:d", values), ("latent:3", [0.0] * len(values))):
            scores.append(
                {
                    "step": step,
                    "hook_point": HOOK,
                    "feature": feature,
                    "zscore": 0.0,
                    "per_prompt": per_prompt,
                }
            )
    evals = [
        EvalPoint(2 * i, Proportion(1, 100), Proportion(90, 100), Proportion(0, 32), lp)
        for i, lp in enumerate(logprobs)
    ]
    return RunRecord(RunSpec("cal-secure-code", "secure-code", seed), evals, scores, [])


SIGNS = {(HOOK, "direction:d"): 1, (HOOK, "latent:3"): 1}


def test_unit_is_the_largest_healthy_excursion_in_either_direction() -> None:
    runs = [
        healthy_run(100, [[1.0, 2.0], [1.2, 2.2], [0.9, 1.9]], [-2.0, -1.97, -2.01]),
        healthy_run(101, [[1.0, 2.0], [0.6, 1.6], [1.1, 2.1]], [-2.0, -2.05, -1.99]),
    ]
    calibration = calibrate(runs, SIGNS)
    direction = calibration.features[HOOK]["direction:d"]
    assert direction.scale == pytest.approx(0.4)  # run 101 fell by 0.4 at step 1
    assert direction.n_checks == 4  # step 0 is the baseline itself
    assert calibration.features[HOOK]["latent:3"].scale == LATENT_FLOOR  # never moved
    assert calibration.logprob_unit == pytest.approx(0.05)
    assert calibration.logprob_threshold == pytest.approx(WARNING_MULTIPLE * 0.05)
    rule = calibration.detector.rules["persistence"]
    assert (rule.warning, rule.critical) == (WARNING_MULTIPLE, CRITICAL_MULTIPLE)


def test_calibration_is_written_into_the_pack_and_read_back(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "pack")
    hook = pack.hook_points[0]
    feature = pack.hooks[hook].features[0]
    run = healthy_run(100, [[0.0], [0.3]], [-1.0])
    run.scores = [
        {**s, "hook_point": hook, "feature": feature}
        for s in run.scores
        if s["feature"] == "direction:d"
    ]
    calibration = calibrate([run], {(hook, feature): 1})
    write_calibration(pack.directory, calibration.features, calibration.detector)
    reloaded = load_pack(pack.directory, release_loader=None)
    assert calibrated_scales(reloaded) == {(hook, feature): pytest.approx(0.3)}
    assert reloaded.manifest.detector == calibration.detector
    assert feature_signs(reloaded) == feature_signs(pack)


def test_calibration_needs_runs() -> None:
    with pytest.raises(ValueError, match="at least one healthy run"):
        calibrate([], SIGNS)


def test_benchmark_refuses_seeds_that_served_calibration() -> None:
    plan = BenchPlan(
        seeds=(0, 100), mixture_seeds=(0,), mixture_fractions=(0.05,), calibration_seeds=(100,)
    )
    with pytest.raises(ValueError, match=r"\[100\] would serve calibration and benchmark"):
        plan.bench_specs()
    assert {s.seed for s in BenchPlan.full().bench_specs()}.isdisjoint(
        BenchPlan.full().calibration_seeds
    )
