"""The service's scoring and detection, run offline over a recorded run.

A recording (``MonitorConfig(record_to=...)``) keeps every check's canary activations, so the
same run can be judged again with another pack (a calibrated copy) or other thresholds without
fine-tuning again. The code is the service's own (``score_activations``, ``feature_units``,
``Detector``), so a replay with the run's own pack gives the service's alerts
(``tests/earlywarning/test_replay.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from monitor.core.detect import Alert, Detector, DetectorConfig
from monitor.core.pack import ProbePack
from monitor.core.scoring import feature_signs, score_activations
from monitor.core.units import feature_units


@dataclass(frozen=True)
class Replay:
    alerts: list[Alert]
    max_zscore: dict[int, float]  # step -> the strongest feature's z-score there
    scores: list[dict[str, Any]]  # per check and feature, as the service's score points

    def first_firing_step(self, severity: str | None = None) -> int | None:
        steps = [
            a.firing_step
            for a in self.alerts
            if a.firing_step is not None and (severity is None or a.severity == severity)
        ]
        return min(steps) if steps else None


def replay(
    pack: ProbePack,
    steps: Sequence[int],
    trajectories: Mapping[str, torch.Tensor],
    detector: DetectorConfig | None = None,
) -> Replay:
    """Score and detect every recorded check (``trajectories``: hook point -> [n_checks,
    n_prompts, d_model], in ``steps`` order) with ``pack`` and ``detector`` (default: the
    pack's own thresholds, as a run registered without a detector of its own gets them)."""
    config = detector or pack.manifest.detector or DetectorConfig()
    detect = Detector(config, feature_signs(pack), feature_units(pack))
    strongest: dict[int, float] = {}
    scores: list[dict[str, Any]] = []
    for index, step in enumerate(steps):
        values = score_activations(pack, {h: t[index] for h, t in trajectories.items()})
        observed = detect.observe(step, {k: v.tolist() for k, v in values.items()}, float(step))
        strongest[step] = max(signal.zscore for signal in observed.signals.values())
        scores += [
            {"step": step, "hook_point": hook, "feature": feature, "zscore": signal.zscore}
            for (hook, feature), signal in observed.signals.items()
        ]
    return Replay(detect.alerts(), strongest, scores)
