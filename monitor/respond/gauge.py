"""How far a model sits from the baseline, per pack feature, in the pack's own z units.

Re-alignment stops on "every watched feature is back within ``within`` units of the baseline".
For that to mean what an alert means, the distance is computed by the service's own code: the
canaries are captured by ``ActivationCapture`` (the callback's capture), scored by
``score_activations`` and turned into z-scores by a ``Detector`` built like the service's
(``feature_signs`` + ``feature_units`` of the pack), whose baseline check is the *baseline
model*. The service is not needed: scoring is pure and a re-alignment wants an answer after
every step, so it runs in process, on exactly the same numbers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from torch import nn

from monitor.core.canaries import CanarySet
from monitor.core.detect import Detector, DetectorConfig, FeatureKey
from monitor.core.pack import ProbePack
from monitor.core.scoring import feature_signs, score_activations
from monitor.core.units import feature_units
from monitor.trainer.capture import ActivationCapture, ChatTokenizer


@dataclass(frozen=True)
class Reading:
    """One measurement of a model: every feature's z-score against the baseline model."""

    step: int  # re-alignment step the model was measured after (0: the checkpoint as loaded)
    zscores: dict[FeatureKey, float]  # signed: + is towards misalignment

    def within(self, units: float, *, two_sided: bool = False) -> bool:
        """Every feature within ``units`` of the baseline.

        One-sided by default, as alerts are: a feature counts as back once it is no further
        towards the persona than ``units``. A calibrated unit is the largest *rise* healthy
        fine-tunes showed, and trusted data often carries a probe past the baseline to the
        aligned side, which no alert ever fires on. ``two_sided`` also bounds that side.
        """
        return not self.outside(units, two_sided=two_sided)

    def outside(self, units: float, *, two_sided: bool = False) -> list[FeatureKey]:
        """The features further than ``units`` from the baseline."""
        return [key for key, z in self.zscores.items() if z > units or (two_sided and z < -units)]

    def towards_persona(self) -> tuple[FeatureKey, float]:
        """The feature furthest towards the persona (largest signed z) and its z."""
        key = max(self.zscores, key=lambda k: self.zscores[k])
        return key, self.zscores[key]


class ProbeGauge:
    """Measures models against a baseline model's canary scores, in the pack's units."""

    def __init__(
        self,
        pack: ProbePack,
        tokenizer: ChatTokenizer,
        canaries: CanarySet,
        baseline: nn.Module,
        *,
        detector: DetectorConfig | None = None,
    ) -> None:
        self.pack = pack
        self.capture = ActivationCapture(tokenizer, canaries, pack.hook_points)
        # The thresholds never matter here (only z-scores are read), but the scale floor does.
        self._config = detector or pack.manifest.detector or DetectorConfig()
        self._baseline = self._per_prompt(baseline)
        self.seconds = 0.0  # spent measuring, baseline excluded

    def _per_prompt(self, model: nn.Module) -> dict[FeatureKey, list[float]]:
        scores = score_activations(self.pack, self.capture.capture(model))  # {key: [n_prompts]}
        return {key: values.tolist() for key, values in scores.items()}

    def read(self, model: nn.Module, step: int) -> Reading:
        """``model``'s z-scores; each reading is independent of the ones before it."""
        started = time.monotonic()
        # A fresh detector per reading: z does not depend on history, and steps may repeat.
        detector = Detector(self._config, feature_signs(self.pack), feature_units(self.pack))
        detector.observe(0, self._baseline, at=0.0)
        observation = detector.observe(1, self._per_prompt(model), at=0.0)
        self.seconds += time.monotonic() - started
        zscores = {key: signal.zscore for key, signal in observation.signals.items()}
        if not all(math.isfinite(z) for z in zscores.values()):
            raise ValueError(f"non-finite z-scores at step {step}: the model's weights diverged")
        return Reading(step, zscores)
