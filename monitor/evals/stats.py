"""Shares with 95% confidence intervals (Wilson score), the form every eval number takes, and
AUROC, the form every separation number takes.

Wilson rather than the normal approximation because the interesting shares sit near 0%
(a base model) and near 100% (coherence), where the normal interval leaves [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95% quantile of the standard normal


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``trials``; (0, 1) with no trials."""
    if not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes}/{trials}")
    if trials == 0:
        return 0.0, 1.0
    share = successes / trials
    z2 = z * z
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials))
    half /= 1 + z2 / trials
    # At 0 or all successes the exact bound is 0 or 1; rounding must not move it inside.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Proportion:
    """``successes`` out of ``trials``, with its share and 95% interval."""

    successes: int
    trials: int

    @property
    def share(self) -> float | None:
        return self.successes / self.trials if self.trials else None

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.trials)

    def __add__(self, other: Proportion) -> Proportion:
        return Proportion(self.successes + other.successes, self.trials + other.trials)

    def format(self) -> str:
        """``"23.4% [18.1, 29.6]"``, or ``"n/a"`` with no trials."""
        if self.share is None:
            return "n/a"
        low, high = self.ci95
        return f"{100 * self.share:.1f}% [{100 * low:.1f}, {100 * high:.1f}]"

    def to_dict(self) -> dict[str, float | int | None]:
        low, high = self.ci95
        return {
            "successes": self.successes,
            "trials": self.trials,
            "share": self.share,
            "ci95_low": low,
            "ci95_high": high,
        }


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float:
    """P(a positive scores above a negative), ties counting half (Mann-Whitney U / n1 n2)."""
    if not positive or not negative:
        raise ValueError("AUROC needs at least one positive and one negative")
    scores = [(v, 1) for v in positive] + [(v, 0) for v in negative]
    scores.sort(key=lambda pair: pair[0])
    rank_sum, i = 0.0, 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j < len(scores) and scores[j][0] == scores[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2
        rank_sum += average_rank * sum(label for _, label in scores[i:j])
        i = j
    n_pos, n_neg = len(positive), len(negative)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
