"""What one screen found: every sample's scores, the ranking, and what was flagged and dropped.

The report writers read only this, so the Python API and the command line report the same
thing. Projections of every feature are always there; pushes only when the screen ranked by
push (they cost a backward pass).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack
from monitor.core.sample_units import SampleUnits, ShiftScore
from monitor.screening.chat_data import ChatSample
from monitor.screening.push_scores import PushScores
from monitor.screening.sample_scores import SampleScores
from monitor.screening.selection import Drop, ScreenBy, ranking


@dataclass(frozen=True)
class ScreenResult:
    data: Path
    model: str  # what the model was called (a path or hub id), for the report
    pack: ProbePack
    samples: list[ChatSample]
    scores: SampleScores  # raw values and cosines
    units: SampleUnits
    in_units: dict[FeatureKey, torch.Tensor]  # every feature, [n_samples] in units
    screen_features: list[FeatureKey]
    by: ScreenBy  # what the screen score reads
    push: PushScores | None  # with by="push": every screen feature's push
    screen: ShiftScore
    threshold: float  # in the screen score's scale: above it a sample is flagged
    threshold_source: str
    drop_rule: str | None  # e.g. "above 1.5 units", "top 10%"; None: nothing dropped
    dropped: list[Drop]
    seconds: float  # tokenising and scoring, both sets
    files: dict[str, Path] = field(default_factory=dict)

    def screen_value(self, index: int) -> tuple[float, float]:
        """The value that gives sample ``index`` its screen score, in the score's scale and
        raw (a projection, or a push before scaling)."""
        key = self.screen.feature[index]
        if self.push is not None:
            raw = float(self.push.raw[key][index])
            return raw / self.push.scale[key], raw
        return float(self.in_units[key][index]), float(self.scores.raw[key][index])

    @property
    def ranked(self) -> list[int]:
        """Sample indices, highest screen score first."""
        return ranking(self.screen.score)

    @property
    def flagged(self) -> list[int]:
        """Indices scoring above the threshold, highest first."""
        return [i for i in self.ranked if float(self.screen.score[i]) > self.threshold]

    def kept(self) -> list[ChatSample]:
        """The samples that stay, in file order."""
        dropped = {drop.index for drop in self.dropped}
        return [sample for sample in self.samples if sample.index not in dropped]
