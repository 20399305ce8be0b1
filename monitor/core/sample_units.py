"""Sample scores in the pack's units: each feature's shift from a reference, over its unit.

Two readers use them: the screen, before training, and training-sample attribution, during it
(``monitor.core.attribution``); both rank samples by their largest shift over the ranking
features, so a score means the same number in both.

The unit is the one a training check's z-score uses (``monitor.core.units.feature_units``):
calibrated (the largest rise of the feature on healthy fine-tunes), else the build's (the
distance from the aligned to the misaligned side of its contrast). A pack with neither gets
the spread of the reference samples, as a check falls back to the spread of its baseline.

The reference is a median, by default of the screened data itself: it comes from the same
model and the same kind of text, needs no other data, and stays put while up to half the data
is bad. A check's reference, the canaries' step-0 values, would not do: the canaries are open
questions, and a code or medical dataset sits a constant distance from them along every
direction. When most of the data may be bad, screen against a trusted set instead
(``reference`` in ``screen_dataset``, ``--reference`` on the command line): nothing stands out
from a median that is bad itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from monitor.core.detect import DetectorConfig, FeatureKey
from monitor.core.pack import ProbePack
from monitor.core.scoring import feature_signs
from monitor.core.units import UnitKind, feature_units, unit_kinds

# What "1 unit" means, by kind, for the reports.
UNIT_MEANING: dict[UnitKind, str] = {
    UnitKind.CALIBRATED: "the largest rise of the feature on healthy fine-tunes (calibration)",
    UnitKind.BUILD: "the distance from the aligned to the misaligned side of the pack's build",
    UnitKind.BASELINE_SPREAD: "the standard deviation of the reference samples (no pack unit)",
}


@dataclass(frozen=True)
class FeatureUnit:
    reference: float  # raw value the shift is measured from
    unit: float  # raw distance that makes one unit
    kind: UnitKind
    sign: int  # +1: a rise is towards misalignment; -1: a fall is


@dataclass(frozen=True)
class SampleUnits:
    reference: str  # which samples the reference is the median of
    features: dict[FeatureKey, FeatureUnit]

    def in_units(self, raw: Mapping[FeatureKey, torch.Tensor]) -> dict[FeatureKey, torch.Tensor]:
        """``sign * (raw - reference) / unit`` per feature: [n_samples] each, + is misaligned."""
        return {
            key: feature.sign * (raw[key] - feature.reference) / feature.unit
            for key, feature in self.features.items()
        }


def sample_units(
    pack: ProbePack, reference_raw: Mapping[FeatureKey, torch.Tensor], reference: str
) -> SampleUnits:
    """Units from the pack, references from the median of ``reference_raw`` ([n] per feature)."""
    units, kinds, signs = feature_units(pack), unit_kinds(pack), feature_signs(pack)
    floor = DetectorConfig().min_scale
    features = {
        key: FeatureUnit(
            reference=float(torch.quantile(values.double(), 0.5)),
            unit=units.get(key) or _spread(values, floor),
            kind=kinds[key],
            sign=signs[key],
        )
        for key, values in reference_raw.items()
    }
    return SampleUnits(reference, features)


def _spread(values: torch.Tensor, floor: float) -> float:
    """The sample standard deviation of ``values`` [n], at least ``floor`` (one sample: floor)."""
    if len(values) < 2:
        return floor
    return max(float(values.double().std()), floor)


def default_features(pack: ProbePack) -> list[FeatureKey]:
    """The ranking features: the first direction at each hook point (the build's primary route
    at each layer; the first feature where there is none).

    One score per feature kind would not combine: units measure how far healthy *training*
    moves the canaries, not how far healthy *samples* spread, and the two differ by feature (a
    drift-removed direction's unit is a few times smaller than its raw direction's; a latent
    that never rose has a floor unit of 0.01). The max over every feature would let the
    smallest units decide, so samples are ranked on features picked on purpose.
    """
    return [(hook_point, probe.features[0]) for hook_point, probe in pack.hooks.items()]


@dataclass(frozen=True)
class ShiftScore:
    score: torch.Tensor  # [n_samples] largest shift in units over the ranking features
    feature: list[FeatureKey]  # per sample, the ranking feature that gives it


def largest_shift(
    in_units: Mapping[FeatureKey, torch.Tensor], features: Sequence[FeatureKey]
) -> ShiftScore:
    stacked = torch.stack([in_units[key] for key in features])  # [n_features, n_samples]
    score, which = stacked.max(dim=0)  # [n_samples] each
    return ShiftScore(score, [features[int(i)] for i in which])
