"""Causality checks by steering: push the residual stream along a direction and watch behaviour.

If adding a latent's decoder direction (or the misalignment direction) makes the base model
answer misaligned, and removing it during a bad fine-tune keeps the fine-tuned model
aligned, the feature does not merely correlate with the persona: it carries it. These are
reports, not gates: they need a behavioural eval that can run on the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from monitor.evals import EvalReport, Proportion
from monitor.trainer.capture import resolve_module

Evaluate = Callable[[nn.Module], EvalReport]


@contextmanager
def editing_residual(
    model: nn.Module, hook_point: str, edit: Callable[[torch.Tensor], torch.Tensor]
) -> Iterator[None]:
    """Replace the hidden state [batch, seq, d_model] that ``hook_point`` outputs by
    ``edit(hidden)`` in every forward (generation and training alike) while the context is open."""
    module = resolve_module(model, hook_point)

    def replace(_module: nn.Module, _inputs: Any, output: Any) -> Any:
        if isinstance(output, tuple):
            return (edit(output[0]), *output[1:])
        return edit(output)

    handle = module.register_forward_hook(replace)
    try:
        yield
    finally:
        handle.remove()


def steering(
    model: nn.Module, hook_point: str, delta: torch.Tensor
) -> AbstractContextManager[None]:
    """Add ``delta`` [d_model] to the residual stream at ``hook_point``, at every position."""
    return editing_residual(model, hook_point, lambda hidden: hidden + delta.to(hidden))


def ablating(
    model: nn.Module, hook_point: str, direction: torch.Tensor
) -> AbstractContextManager[None]:
    """Project ``direction`` [d_model] out of the residual stream at ``hook_point``.

    Held open during a fine-tune, this is concept ablation fine-tuning (CAFT): the gradient
    cannot use the direction at this layer, unlike a constant push against it, which training
    can learn to undo. Whether either keeps the persona asleep is for a report to measure.
    """
    unit = direction.float() / direction.float().norm()

    def project_out(hidden: torch.Tensor) -> torch.Tensor:
        along = unit.to(hidden)
        coefficients = torch.matmul(hidden, along).unsqueeze(-1)  # [batch, seq, 1]
        ablated: torch.Tensor = hidden - coefficients * along  # [batch, seq, d_model]
        return ablated

    return editing_residual(model, hook_point, project_out)


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
