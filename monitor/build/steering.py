"""Causality checks by steering: push the residual stream along a direction and watch behaviour.

If adding a latent's decoder direction (or the misalignment direction) makes the base model
answer misaligned, and subtracting it during a bad fine-tune keeps the fine-tuned model
aligned, the feature does not merely correlate with the persona: it carries it. These are
reports, not gates: they need a behavioural eval that can run on the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from monitor.capture import resolve_module
from monitor.evals import EvalReport, Proportion

Evaluate = Callable[[nn.Module], EvalReport]


@contextmanager
def steering(model: nn.Module, hook_point: str, delta: torch.Tensor) -> Iterator[None]:
    """Add ``delta`` [d_model] to the output of ``hook_point`` at every position, in every
    forward (generation and training alike) while the context is open."""
    module = resolve_module(model, hook_point)

    def add(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        if isinstance(output, tuple):
            return (output[0] + delta.to(output[0]), *output[1:])
        return output + delta.to(output)

    handle = module.register_forward_hook(add)
    try:
        yield
    finally:
        handle.remove()


@dataclass(frozen=True)
class SteeringPoint:
    scale: float  # in units of the mean residual norm at the hook point
    misaligned: Proportion
    coherent: Proportion


def steering_curve(
    model: nn.Module,
    hook_point: str,
    direction: torch.Tensor,
    residual_norm: float,
    scales: Sequence[float],
    evaluate: Evaluate,
) -> list[SteeringPoint]:
    """Misaligned and coherent shares with ``scale * residual_norm * unit(direction)`` added."""
    unit = direction.float() / direction.float().norm()
    points = []
    for scale in scales:
        with steering(model, hook_point, scale * residual_norm * unit):
            report = evaluate(model)
        points.append(SteeringPoint(scale, report.misaligned(), report.coherent()))
    return points
