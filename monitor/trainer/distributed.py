"""Making every rank agree on a decision that only rank 0 can take.

Only the world-process-zero rank captures and sends checks, so only it learns of alerts. If it
stopped alone, the other ranks would hang in their next collective; broadcasting the decision
makes all ranks stop at the same step.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def is_main_process() -> bool:
    return not is_distributed() or dist.get_rank() == 0


def broadcast_flags(*flags: bool) -> tuple[bool, ...]:
    """Rank 0's flags, on every rank (a no-op outside torch.distributed)."""
    if not is_distributed():
        return flags
    device = (
        torch.device("cuda", torch.cuda.current_device())
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )
    tensor = torch.tensor([int(flag) for flag in flags], dtype=torch.int32, device=device)
    dist.broadcast(tensor, src=0)
    return tuple(bool(value) for value in tensor.tolist())
