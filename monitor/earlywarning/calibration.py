"""Calibrate the organism pack on healthy fine-tunes, on seeds that no benchmark run uses.

The procedure is ``monitor.probe_building.calibration`` (drift removal, units, thresholds);
this adds what only the benchmark has: which healthy datasets and seeds, and the same
treatment for the log-probability baseline, so the comparison with the probes is like for like.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from monitor.core.detect import DetectorConfig
from monitor.core.pack import ProbePack
from monitor.core.units import CALIBRATED_DETECTOR, WARNING_MULTIPLE
from monitor.earlywarning.analysis import logprob_rises
from monitor.earlywarning.runs import RunRecord
from monitor.probe_building.calibration import Units, feature_units

HEALTHY_DATASETS = ("secure-code", "good-medical")
CALIBRATION_SEEDS = (100, 101, 102)  # the benchmark's seeds start at 0 and stay below 100
LOGPROB_FLOOR = 0.01  # nats: the smallest unit, so a run with no healthy rise cannot set 0


@dataclass(frozen=True)
class Calibration:
    features: Units
    detector: DetectorConfig
    logprob_unit: float  # largest healthy rise of the log-probability probe
    runs: list[str]

    @property
    def logprob_threshold(self) -> float:
        return WARNING_MULTIPLE * self.logprob_unit

    def to_dict(self) -> dict[str, object]:
        return {
            "features": {
                hook: {name: c.model_dump() for name, c in features.items()}
                for hook, features in self.features.items()
            },
            "detector": self.detector.model_dump(mode="json"),
            "logprob_unit": self.logprob_unit,
            "logprob_threshold": self.logprob_threshold,
            "runs": self.runs,
        }


def calibrate(records: Sequence[RunRecord], pack: ProbePack) -> Calibration:
    """Units for every feature of ``pack`` and for the log-probability probe from the healthy
    ``records``. ``pack`` already holds the drift-removed directions."""
    return with_logprob_unit(records, feature_units(pack, healthy_trajectories(records)))


def healthy_trajectories(records: Sequence[RunRecord]) -> dict[str, dict[str, torch.Tensor]]:
    """Run name -> the canary activations it recorded (hook point -> [checks, prompts, d])."""
    missing = [r.spec.run_name for r in records if not r.activations]
    if missing:
        raise ValueError(f"runs {missing} recorded no activations (RunSpec.record_activations)")
    return {r.spec.run_name: r.activations for r in records}


def with_logprob_unit(
    records: Sequence[RunRecord],
    features: Units,
    detector: DetectorConfig = CALIBRATED_DETECTOR,
) -> Calibration:
    """The probes' ``features`` units (and the ``detector`` that goes with them) together
    with the log-probability probe's own unit."""
    logprob = [rise for record in records for _, rise in logprob_rises(record)[1:]]
    names = sorted(r.spec.run_name for r in records)
    return Calibration(features, detector, max([*logprob, LOGPROB_FLOOR]), names)
