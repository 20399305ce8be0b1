"""Which samples a screen flags and drops, and why.

A sample's *screen score* is its largest shift, in units, over the screen features (by
default ``default_features``: the first direction at each of the pack's hook points). The
feature that gives it is the reason a sample is flagged or dropped; the report keeps every
feature's value.

The default threshold is the z at which a training check on the same pack would warn: the
pack's own persistence-warning threshold, else the one that goes with its unit kind. A sample
past it sits further beyond the data's median than the canaries' mean moves when a run warns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


def default_threshold(pack: ProbePack) -> tuple[float, str]:
    """The units at which a check on this pack warns, and where that number comes from."""
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


def drop_above(scores: ShiftScore, threshold: float) -> list[Drop]:
    """Every sample whose score is above ``threshold`` units, highest first."""
    return [
        Drop(i, f"{_named(scores, i)} is above the threshold {threshold:g} units")
        for i in ranking(scores.score)
        if float(scores.score[i]) > threshold
    ]


def drop_top(scores: ShiftScore, fraction: float) -> list[Drop]:
    """The highest-scoring ``fraction`` of the samples (rounded to whole samples)."""
    if not 0 < fraction < 1:
        raise ScreenError(f"the fraction to drop must be between 0 and 1, got {fraction:g}")
    n = len(scores.score)
    count = math.floor(fraction * n + 0.5)
    return [
        Drop(i, f"rank {rank} of {n}, in the top {fraction:.0%}: {_named(scores, i)}")
        for rank, i in enumerate(ranking(scores.score)[:count], start=1)
    ]


def _named(scores: ShiftScore, index: int) -> str:
    hook_point, feature = scores.feature[index]
    return f"{hook_point} {feature} at {float(scores.score[index]):+.2f} units"
