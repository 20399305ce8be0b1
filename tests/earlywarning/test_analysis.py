"""Onset, alert and lead arithmetic on hand-built run records."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.earlywarning import analysis
from monitor.earlywarning.bench import em_summary
from monitor.earlywarning.runs import EvalPoint, RunRecord, RunSpec
from monitor.evals.stats import Proportion

HOOK = "model.layers.3"


def point(step: int, misaligned: int, small: int = 0, logprob: float = -1.0) -> EvalPoint:
    return EvalPoint(
        step, Proportion(misaligned, 100), Proportion(90, 100), Proportion(small, 32), logprob
    )


def score(step: int, feature: str, zscore: float, per_prompt: list[float]) -> dict[str, Any]:
    return {
        "step": step,
        "hook_point": HOOK,
        "feature": feature,
        "value": sum(per_prompt) / len(per_prompt),
        "zscore": zscore,
        "cusum": 0.0,
        "per_prompt": per_prompt,
    }


def alert(severity: str, firing_step: int | None) -> dict[str, Any]:
    return {"severity": severity, "firing_step": firing_step, "state": "firing"}


def record(
    evals: list[EvalPoint], scores: list[dict[str, Any]] = (), alerts: list[dict[str, Any]] = ()
) -> RunRecord:  # type: ignore[assignment]
    return RunRecord(
        RunSpec("insecure-code", "insecure-code", 0), evals, list(scores), list(alerts)
    )


def test_onset_is_the_first_eval_strictly_over_five_percent() -> None:
    run = record([point(0, 2), point(2, 5), point(4, 6), point(6, 40)])
    assert analysis.onset_step(run) == 4
    assert analysis.onset_step(record([point(0, 2), point(2, 5)])) is None


def test_first_alert_step_takes_the_earliest_firing_of_the_wanted_severity() -> None:
    run = record(
        [point(0, 0)],
        alerts=[alert("critical", 9), alert("warning", 6), alert("warning", None)],
    )
    assert analysis.first_alert_step(run) == 6
    assert analysis.first_alert_step(run, ("critical",)) == 9
    assert analysis.first_alert_step(record([point(0, 0)])) is None


def test_first_alert_by_hook_point_says_what_each_layer_alone_would_have_said() -> None:
    deeper = {**score(0, "direction:d", 0.0, [0.0]), "hook_point": "model.layers.1"}
    silent = {**score(0, "direction:d", 0.0, [0.0]), "hook_point": "model.layers.0"}
    run = record(
        [point(0, 0)],
        scores=[score(0, "direction:d", 0.0, [0.0]), deeper, silent],
        alerts=[
            {**alert("warning", 9), "hook_point": HOOK},
            {**alert("critical", 7), "hook_point": HOOK},
            {**alert("warning", 5), "hook_point": "model.layers.1"},
            {**alert("warning", None), "hook_point": "model.layers.0"},
        ],
    )
    assert analysis.first_alert_step_by_hook_point(run) == {
        "model.layers.0": None,
        "model.layers.1": 5,
        HOOK: 7,
    }


def test_em_summary_counts_the_runs_each_layer_alone_alerted_before_the_onset() -> None:
    deeper = {**score(0, "direction:d", 0.0, [0.0]), "hook_point": "model.layers.1"}
    runs = [
        record(
            [point(0, 1), point(8, 20)],
            scores=[score(0, "direction:d", 0.0, [0.0]), deeper],
            alerts=[
                {**alert("warning", first_at_hook), "hook_point": HOOK},
                {**alert("warning", 9), "hook_point": "model.layers.1"},
            ],
        )
        for first_at_hook in (6, 8)
    ]
    summary = em_summary(runs, logprob_threshold=1.0)
    assert summary["alert_before_onset"] == 1  # 6 < 8; an alert at the onset step is not early
    assert summary["alert_before_onset_by_hook_point"] == {"model.layers.1": 0, HOOK: 1}
    assert summary["runs"][0]["first_alert_step_by_hook_point"] == {"model.layers.1": 9, HOOK: 6}


def test_small_eval_notices_only_when_its_lower_bound_clears_five_percent() -> None:
    # 4/32 has a Wilson lower bound just under 5%; 6/32 is clearly over.
    run = record([point(0, 0, small=1), point(2, 0, small=4), point(4, 0, small=6)])
    assert analysis.small_eval_notice_step(run) == 4


def test_logprob_notice_uses_the_rise_from_step_zero() -> None:
    run = record([point(0, 0, logprob=-2.0), point(2, 0, logprob=-1.95), point(4, 0, logprob=-1.8)])
    assert analysis.logprob_rises(run) == [
        (0, 0.0),
        (2, pytest.approx(0.05)),
        (4, pytest.approx(0.2)),
    ]
    assert analysis.logprob_notice_step(run, 0.1) == 4
    assert analysis.logprob_notice_step(run, 1.0) is None


def test_checkpoint_auroc_ranks_checks_by_their_strongest_feature() -> None:
    healthy = record(
        [point(0, 1), point(2, 2)],
        [score(0, "a", 0.0, [0.0]), score(0, "b", 0.1, [0.0]), score(2, "a", 0.5, [0.0])],
    )
    turned = record(
        [point(0, 1), point(2, 30)],
        [score(0, "a", 0.0, [0.0]), score(2, "a", 3.0, [0.0]), score(2, "b", 9.0, [0.0])],
    )
    assert analysis.max_zscore_by_step(turned) == {0: 0.0, 2: 9.0}
    assert analysis.checkpoint_auroc([healthy, turned]) == 1.0
    assert analysis.checkpoint_auroc([healthy]) is None  # no positive checkpoint
