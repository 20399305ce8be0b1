"""Which samples a screen flags and drops, and why.

A sample's *screen score* is read one of two ways (``by``), each the largest over the screen
features (by default ``default_features``: the first direction at each of the pack's hook
points):

- ``projection``: its shift in the pack's units from the reference's median;
- ``push``: what a gradient step on it would move the residual stream along the direction, in
  multiples of the typical push of the reference samples that push away from the persona
  (``push_scores``).

The feature that gives the score is the reason a sample is flagged or dropped; the report keeps
every feature's value.

The default projection threshold is the z at which a training check on the same pack would
warn: the pack's own persistence-warning threshold, else the one that goes with its unit kind.
A sample past it sits further beyond the data's median than the canaries' mean moves when a run
warns. Push has no such anchor in the pack; its default is the threshold the organism's tuning
mixtures chose (``PUSH_THRESHOLD``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from monitor.core.detect import DetectorConfig, FeatureKey
from monitor.core.pack import ProbePack
from monitor.core.sample_units import ShiftScore
from monitor.core.units import (
    BUILD_UNIT_DETECTOR,
    CALIBRATED_DETECTOR,
    UnitKind,
    pack_unit_kind,
)
from monitor.screening.errors import ScreenError

ScreenBy = Literal["projection", "push"]
SCREEN_BY: tuple[ScreenBy, ...] = ("projection", "push")
# The default push threshold, in multiples of the typical push away from the persona
# (``push_scores.away_scale``): the smallest (to 0.1) that kept 95% of the healthy samples in
# every tuning mixture of the organism (seeds 100-102, code and medicine; 1.01 for code alone,
# 3.11 for medicine: bench/screening.py --by push, docs/screening.md).
PUSH_THRESHOLD = 3.2

_DETECTOR_OF_KIND = {
    UnitKind.CALIBRATED: CALIBRATED_DETECTOR,
    UnitKind.BUILD: BUILD_UNIT_DETECTOR,
    UnitKind.BASELINE_SPREAD: DetectorConfig(),
}


def parse_features(pack: ProbePack, names: Sequence[str]) -> list[FeatureKey]:
    """``FEATURE`` (at every hook point that has it) or ``HOOK:FEATURE``, e.g.
    ``direction:contrast_answers`` or ``model.layers.3:latent:349``."""
    chosen: list[FeatureKey] = []
    for name in names:
        hook_point, _, feature = name.partition(":")
        matches = (
            [(hook_point, feature)]
            if hook_point in pack.hooks and feature in pack.hooks[hook_point].features
            else [(hook, name) for hook, probe in pack.hooks.items() if name in probe.features]
        )
        if not matches:
            known = sorted({f for probe in pack.hooks.values() for f in probe.features})
            raise ScreenError(f"probe pack {pack.name!r} has no feature {name!r}; it has {known}")
        chosen += [key for key in matches if key not in chosen]
    return chosen


def default_threshold(pack: ProbePack, by: ScreenBy = "projection") -> tuple[float, str]:
    """The default flagging threshold and where that number comes from: for projection, the
    units at which a check on this pack warns."""
    if by == "push":
        return PUSH_THRESHOLD, "push's default, chosen on the organism's tuning mixtures"
    detector = pack.manifest.detector
    rule = detector.rules.get("persistence") if detector else None
    if rule is not None and rule.warning is not None:
        return rule.warning, "the pack's own warning threshold (persistence rule)"
    kind = pack_unit_kind(pack)
    warning = _DETECTOR_OF_KIND[kind].rules["persistence"].warning
    assert warning is not None  # every default detector warns
    return warning, f"the warning threshold that goes with {kind} units"


def ranking(score: torch.Tensor) -> list[int]:
    """Sample indices, highest score first; ties in file order."""
    return sorted(range(len(score)), key=lambda i: (-float(score[i]), i))


@dataclass(frozen=True)
class Drop:
    index: int
    reason: str


def scale_words(value: float, by: ScreenBy, number: str = "+.2f") -> str:
    """A score with its scale, e.g. ``+1.65 units`` or ``+4.20x the typical push``."""
    if by == "push":
        return f"{value:{number}}x the typical push"
    return f"{value:{number}} units"


def drop_above(scores: ShiftScore, threshold: float, by: ScreenBy = "projection") -> list[Drop]:
    """Every sample whose score is above ``threshold``, highest first."""
    above = scale_words(threshold, by, "g")
    return [
        Drop(i, f"{_named(scores, i, by)} is above the threshold {above}")
        for i in ranking(scores.score)
        if float(scores.score[i]) > threshold
    ]


def drop_top(scores: ShiftScore, fraction: float, by: ScreenBy = "projection") -> list[Drop]:
    """The highest-scoring ``fraction`` of the samples (rounded to whole samples)."""
    if not 0 < fraction < 1:
        raise ScreenError(f"the fraction to drop must be between 0 and 1, got {fraction:g}")
    n = len(scores.score)
    count = math.floor(fraction * n + 0.5)
    return [
        Drop(i, f"rank {rank} of {n}, in the top {fraction:.0%}: {_named(scores, i, by)}")
        for rank, i in enumerate(ranking(scores.score)[:count], start=1)
    ]


def _named(scores: ShiftScore, index: int, by: ScreenBy) -> str:
    hook_point, feature = scores.feature[index]
    reading = " push" if by == "push" else ""
    return f"{hook_point} {feature}{reading} at {scale_words(float(scores.score[index]), by)}"
