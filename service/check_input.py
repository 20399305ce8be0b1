"""A check body in, refused at the door unless it is well formed and within the limits.

The header is read first (``monitor.core.wire.read_header``), so a check with too many prompts
is refused before any value is read; the values are then read in place and their magnitude
bounded: a finite 3e38 would otherwise push the run's CUSUM to 1e38, where it stays.

Scoring then reads each hook point's values as a fresh float32 copy (``ScoringCopies``): the
in-place views start wherever the body's header ends, and a matrix product's last bit depends
on its operand's alignment, so scoring the views would give replicas (and runs with names of
other lengths) scores that differ by 1e-7. One hook point is copied at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch

from monitor.core.wire import Check, WireFormatError, decode_check, read_header
from service.errors import ApiError


@dataclass(frozen=True)
class CheckLimits:
    max_prompts: int
    max_abs_value: float


def read_check(body: bytes | bytearray, limits: CheckLimits) -> Check:
    """Decode a check body; 400 if it is malformed, 422 if it exceeds ``limits``."""
    try:
        header = read_header(body)
        if header.n_prompts > limits.max_prompts:
            raise ApiError(
                422,
                "too_many_prompts",
                f"the check carries {header.n_prompts} prompts per hook point; this service "
                f"takes at most {limits.max_prompts} (EMWATCH_MAX_PROMPTS_PER_CHECK): use a "
                "smaller canary set",
            )
        check = decode_check(body)
    except WireFormatError as exc:
        raise ApiError(400, "invalid_check", str(exc)) from exc
    for hook, values in check.activations.items():
        low, high = torch.aminmax(values)
        largest = max(-float(low), float(high))
        if largest > limits.max_abs_value:
            raise ApiError(
                422,
                "value_out_of_range",
                f"tensor {hook!r} holds a value of magnitude {largest:.3g}; this service takes "
                f"activations up to {limits.max_abs_value:g} (EMWATCH_MAX_ABS_ACTIVATION): "
                "check the capture, which should pool activations, not sum them",
            )
    return check


class ScoringCopies(Mapping[str, torch.Tensor]):
    """A check's activations as float32 in fresh (aligned) memory, made when read."""

    def __init__(self, check: Check) -> None:
        self._views = check.activations

    def __getitem__(self, hook: str) -> torch.Tensor:
        return self._views[hook].to(torch.float32, copy=True)

    def __iter__(self) -> Iterator[str]:
        return iter(self._views)

    def __len__(self) -> int:
        return len(self._views)
