from __future__ import annotations

import pytest

from monitor.core.detect import (
    AlertState,
    Detector,
    DetectorConfig,
    OutOfOrderError,
    PromptCountError,
    RuleConfig,
    Severity,
)

KEY = ("model.layers.1", "direction:em")
BASELINE = [0.0, 1.0, 2.0, 3.0]  # std (ddof=1) = 1.2910


def _scores(shift: float) -> dict[tuple[str, str], list[float]]:
    return {KEY: [v + shift for v in BASELINE]}


def _run(detector: Detector, shifts: list[float]) -> list[list[tuple[str, str, str]]]:
    """Observe steps 0, 10, 20, ...; return each check's (rule, severity, state) changes."""
    changes = []
    for i, shift in enumerate(shifts):
        observation = detector.observe(i * 10, _scores(shift), at=float(i))
        changes.append([(a.rule, str(a.severity), str(a.state)) for a in observation.changed])
    return changes


def _only(rule: str, **kwargs: object) -> DetectorConfig:
    return DetectorConfig(rules={rule: RuleConfig(**kwargs)}, resolve_after_checks=2)  # type: ignore[arg-type]


def test_zscore_is_paired_shift_over_baseline_spread() -> None:
    detector = Detector(DetectorConfig(), {KEY: 1})
    assert detector.observe(0, _scores(0.0), at=0).signals[KEY].zscore == 0.0
    signal = detector.observe(10, _scores(2.5820), at=1).signals[KEY]
    assert signal.zscore == pytest.approx(2.0, rel=1e-4)
    assert signal.value == pytest.approx(1.5 + 2.5820)


def test_sign_minus_one_watches_a_fall() -> None:
    detector = Detector(DetectorConfig(), {KEY: -1})
    detector.observe(0, _scores(0.0), at=0)
    assert detector.observe(10, _scores(-2.5820), at=1).signals[KEY].zscore == pytest.approx(
        2.0, rel=1e-4
    )


def test_calibrated_scale_overrides_baseline_spread() -> None:
    detector = Detector(DetectorConfig(), {KEY: 1}, calibrated_scales={KEY: 0.5})
    detector.observe(0, _scores(0.0), at=0)
    assert detector.observe(10, _scores(1.0), at=1).signals[KEY].zscore == pytest.approx(2.0)


def test_persistence_rule_pending_then_firing_then_resolved() -> None:
    z = 1.2910  # one z unit
    detector = Detector(_only("persistence", signal="zscore", warning=3.0, for_checks=3), {KEY: 1})
    changes = _run(detector, [0, 4 * z, 4 * z, 4 * z, 4 * z, 0, 0])
    assert changes[1] == [("persistence", "warning", "pending")]
    assert changes[2] == []
    assert changes[3] == [("persistence", "warning", "firing")]
    assert changes[5] == []  # one clear check is not enough with resolve_after_checks=2
    assert changes[6] == [("persistence", "warning", "resolved")]
    (alert,) = detector.alerts()
    assert (alert.started_step, alert.firing_step, alert.resolved_step) == (10, 30, 60)
    assert alert.peak == pytest.approx(4.0, rel=1e-4)


def test_persistence_needs_consecutive_checks() -> None:
    z = 1.2910
    detector = Detector(_only("persistence", signal="zscore", warning=3.0, for_checks=3), {KEY: 1})
    changes = _run(detector, [0, 4 * z, 4 * z, 0, 4 * z, 4 * z])
    assert all(state != "firing" for change in changes for _, _, state in change)
    assert detector.firing() == []
    assert [a.state for a in detector.alerts()] == [AlertState.PENDING]  # second streak


def test_cusum_accumulates_small_persistent_shifts() -> None:
    z = 1.2910
    config = DetectorConfig(
        rules={"cusum": RuleConfig(signal="cusum", warning=5.0, critical=9.0)},
        cusum_slack=0.5,
    )
    detector = Detector(config, {KEY: 1})
    # z = 1.5 per check: never crosses a z threshold of 3, but CUSUM grows by 1.0 per check.
    changes = _run(detector, [0] + [1.5 * z] * 10)
    first_warning = next(i for i, c in enumerate(changes) if ("cusum", "warning", "firing") in c)
    first_critical = next(i for i, c in enumerate(changes) if ("cusum", "critical", "firing") in c)
    assert (first_warning, first_critical) == (5, 9)


def test_severities_are_separate_alerts() -> None:
    z = 1.2910
    detector = Detector(
        _only("persistence", signal="zscore", warning=3.0, critical=6.0, for_checks=1), {KEY: 1}
    )
    changes = _run(detector, [0, 4 * z, 7 * z])
    assert changes[1] == [("persistence", "warning", "firing")]
    assert changes[2] == [("persistence", "critical", "firing")]
    assert {a.severity for a in detector.firing()} == {Severity.WARNING, Severity.CRITICAL}


def test_out_of_order_and_duplicate_steps_are_refused() -> None:
    detector = Detector(DetectorConfig(), {KEY: 1})
    detector.observe(10, _scores(0.0), at=0)
    with pytest.raises(OutOfOrderError):
        detector.observe(10, _scores(0.0), at=1)
    with pytest.raises(OutOfOrderError):
        detector.observe(5, _scores(0.0), at=1)


def test_state_round_trip_continues_identically() -> None:
    z = 1.2910
    shifts = [0, 4 * z, 4 * z, 4 * z, 8 * z, 0, 0, 2 * z]
    config = DetectorConfig()
    straight = Detector(config, {KEY: 1})
    _run(straight, shifts)
    resumed = Detector(config, {KEY: 1})
    for i, shift in enumerate(shifts):
        resumed.observe(i * 10, _scores(shift), at=float(i))
        resumed = Detector.from_state(config, {KEY: 1}, None, resumed.to_state())
    assert [a.alert_id for a in resumed.alerts()] == [a.alert_id for a in straight.alerts()]
    assert [a.state for a in resumed.alerts()] == [a.state for a in straight.alerts()]


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="critical threshold must be >= warning"):
        RuleConfig(signal="zscore", warning=5.0, critical=2.0)
    with pytest.raises(ValueError, match="needs a warning or a critical"):
        RuleConfig(signal="zscore")


def test_a_check_with_another_prompt_count_is_named_and_changes_nothing() -> None:
    detector = Detector(DetectorConfig(), {KEY: 1})
    detector.observe(0, _scores(0.0), at=0)
    before = detector.to_state()
    with pytest.raises(
        PromptCountError, match="has 3 prompts .* baseline check \\(step 0\\) had 4"
    ):
        detector.observe(10, {KEY: [1.0, 2.0, 3.0]}, at=1)
    assert detector.to_state() == before
