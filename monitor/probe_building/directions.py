"""Misalignment directions and how well each layer's direction separates held-out answers.

A direction is a difference of token-weighted answer-token means: misaligned minus aligned
answers (contrast answers), fine-tuned minus base model (model diffing), or villain minus
assistant system prompt (persona prompts). The arithmetic is the same; only where the two
activation sets come from differs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from monitor.evals.stats import auroc
from monitor.probe_building.activations import AnswerActivations


def mean_difference(
    positive: AnswerActivations, negative: AnswerActivations, hook: str
) -> torch.Tensor:
    """Token-weighted mean of ``positive`` minus that of ``negative``: [d_model]."""
    return positive.token_mean(hook) - negative.token_mean(hook)


def cohens_d(positive: Sequence[float], negative: Sequence[float]) -> float:
    """Standardised mean difference with the pooled standard deviation."""
    n_pos, n_neg = len(positive), len(negative)
    mean_pos, mean_neg = sum(positive) / n_pos, sum(negative) / n_neg
    var_pos = sum((v - mean_pos) ** 2 for v in positive) / max(n_pos - 1, 1)
    var_neg = sum((v - mean_neg) ** 2 for v in negative) / max(n_neg - 1, 1)
    pooled = math.sqrt(((n_pos - 1) * var_pos + (n_neg - 1) * var_neg) / max(n_pos + n_neg - 2, 1))
    if pooled > 0:
        return (mean_pos - mean_neg) / pooled
    return 0.0 if mean_pos == mean_neg else math.copysign(math.inf, mean_pos - mean_neg)


@dataclass(frozen=True)
class LayerSeparation:
    hook_point: str
    auroc: float
    effect_size: float
    norm: float
    # Mean projection of the misaligned side minus the aligned side: the direction's build
    # unit, in the units a check's per-prompt means are scored in.
    gap: float
    n_positive: int
    n_negative: int


def separation(
    direction: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, hook: str
) -> LayerSeparation:
    """How well projections on ``direction`` [d] separate per-answer means [n, d]."""
    unit = direction / direction.norm()
    pos, neg = (positive @ unit).tolist(), (negative @ unit).tolist()
    return LayerSeparation(
        hook,
        auroc(pos, neg),
        cohens_d(pos, neg),
        float(direction.norm()),
        sum(pos) / len(pos) - sum(neg) / len(neg),
        len(pos),
        len(neg),
    )


def split_indices(n: int, held_out: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded (fit, held-out) split of range(n); both parts non-empty."""
    if n < 2:
        raise ValueError("need at least two answers per side to hold some out")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    n_held = min(max(1, round(n * held_out)), n - 1)
    return sorted(order[n_held:]), sorted(order[:n_held])


def rank_layers(separations: Sequence[LayerSeparation]) -> list[LayerSeparation]:
    """Best first: by held-out AUROC, then by effect size."""
    return sorted(separations, key=lambda s: (s.auroc, s.effect_size), reverse=True)


def choose_hook(separations: Sequence[LayerSeparation], tolerance: float = 0.01) -> str:
    """The hook point whose direction separates held-out answers best.

    Held-out AUROC saturates near 1 at most layers of a small model, so differences within
    ``tolerance`` are noise; among those near-ties the largest effect size (Cohen's d, which
    does not saturate) wins: the layer where the two sides lie furthest apart.
    """
    top = max(s.auroc for s in separations)
    tied = [s for s in separations if s.auroc >= top - tolerance]
    return max(tied, key=lambda s: (s.effect_size, s.auroc)).hook_point


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.float(), b.float(), dim=0))
