"""The run's detector over its stored series: replayed from the nearest saved state.

Each stored check keeps the detector's state after it. A check that extends the series replays
just itself from the latest state; a late one (a spool replay) from the state of the nearest
check before it, then every check after it, so the result is the one an in-order arrival would
have given, at a cost bounded by the checks after it rather than the whole series. A resume
replays nothing after its step: the surviving checks' states are already right.

The saved state is found by the caller (``LockedRun.lookup`` finds it in the same query that
tells a new step from a repeat).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.core.detect import Alert, Detector, DetectorConfig, FeatureKey, Observation
from monitor.core.pack import ProbePack
from monitor.core.scoring import feature_signs
from monitor.core.units import feature_units
from service.store.locked_run import LockedRun, ReplayedCheck
from service.store.records import AlertRow, RunRecord, SavedState, ScoreRow, StoredCheck


@dataclass(frozen=True)
class DetectorSpec:
    """What a run's detector is made of: its thresholds and its pack's signs and units."""

    config: DetectorConfig
    signs: dict[FeatureKey, int]
    units: dict[FeatureKey, float]

    @classmethod
    def of(cls, run: RunRecord, pack: ProbePack) -> DetectorSpec:
        config = DetectorConfig.model_validate(run.detector_config)
        return cls(config, feature_signs(pack), feature_units(pack))

    def detector(self, saved: Mapping[str, Any] | None) -> Detector:
        if saved is None:
            return Detector(self.config, self.signs, self.units)
        return Detector.from_state(self.config, self.signs, self.units, saved)


@dataclass(frozen=True)
class Replay:
    detector: Detector  # after the last check of the series
    after_step: int  # every check after this step was replayed (-1: the whole series)
    replayed: list[ReplayedCheck]
    observations: dict[int, Observation]  # by step, for every replayed check
    appended_only: bool  # no stored check was replayed: the new one extends the series
    alerts_before: list[AlertRow]  # the saved state's alerts (as stored, when appended_only)


def alert_row(alert: Alert) -> AlertRow:
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


def score_rows(
    observation: Observation, per_prompt: Mapping[FeatureKey, Sequence[float]]
) -> list[ScoreRow]:
    return [
        ScoreRow(
            observation.step,
            hook,
            feature,
            signal.value,
            signal.zscore,
            signal.cusum,
            [float(v) for v in per_prompt[(hook, feature)]],
        )
        for (hook, feature), signal in observation.signals.items()
    ]


def replay(
    locked: LockedRun,
    spec: DetectorSpec,
    saved: SavedState | None,
    new: StoredCheck | None = None,
) -> Replay:
    """Rebuild from ``saved`` (None: from nothing); observe every stored check after it and
    ``new``, in step order. The stored checks are read only if there are any after it."""
    detector = spec.detector(saved.state if saved else None)
    alerts_before = [alert_row(alert) for alert in detector.alerts()]  # observe mutates them
    after_step = saved.step if saved else -1
    last_step = locked.run.last_step
    any_after = last_step is not None and last_step > after_step
    stored = locked.checks_after(after_step) if any_after else []
    series = sorted([*stored, *([new] if new else [])], key=lambda check: check.step)
    replayed: list[ReplayedCheck] = []
    observations: dict[int, Observation] = {}
    for check in series:
        observation = detector.observe(check.step, check.per_prompt, check.received_at)
        observations[check.step] = observation
        rows = score_rows(observation, check.per_prompt)
        replayed.append(ReplayedCheck(check, detector.to_state(), rows))
    return Replay(detector, after_step, replayed, observations, not stored, alerts_before)
