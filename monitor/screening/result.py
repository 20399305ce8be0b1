"""What one screen found: every sample's scores, the ranking, and what was flagged and dropped.

The report writers read only this, so the Python API and the command line report the same
thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack
from monitor.core.sample_units import SampleUnits, ShiftScore
from monitor.screening.chat_data import ChatSample
from monitor.screening.sample_scores import SampleScores
from monitor.screening.selection import Drop, ranking


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
    screen: ShiftScore
    threshold: float  # units above which a sample is flagged
    threshold_source: str
    drop_rule: str | None  # e.g. "above 1.5 units", "top 10%"; None: nothing dropped
    dropped: list[Drop]
    seconds: float  # tokenising and scoring, both sets
    files: dict[str, Path] = field(default_factory=dict)

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
