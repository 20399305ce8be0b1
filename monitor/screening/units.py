"""Sample scores in the pack's units: each feature's shift from a reference, over its unit.

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

from collections.abc import Mapping
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
class ScreenUnits:
    reference: str  # which samples the reference is the median of
    features: dict[FeatureKey, FeatureUnit]

    def in_units(self, raw: Mapping[FeatureKey, torch.Tensor]) -> dict[FeatureKey, torch.Tensor]:
        """``sign * (raw - reference) / unit`` per feature: [n_samples] each, + is misaligned."""
        return {
            key: feature.sign * (raw[key] - feature.reference) / feature.unit
            for key, feature in self.features.items()
        }


def screen_units(
    pack: ProbePack, reference_raw: Mapping[FeatureKey, torch.Tensor], reference: str
) -> ScreenUnits:
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
    return ScreenUnits(reference, features)


def _spread(values: torch.Tensor, floor: float) -> float:
    """The sample standard deviation of ``values`` [n], at least ``floor`` (one sample: floor)."""
    if len(values) < 2:
        return floor
    return max(float(values.double().std()), floor)
