"""The stop decision reaches every rank: two real processes in a gloo process group."""

from __future__ import annotations

import os
from pathlib import Path

import torch.distributed as dist
import torch.multiprocessing as mp
from transformers import TrainerControl, TrainerState, TrainingArguments

from monitor.core.detect import Severity
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.training_monitor import AlertNotice, MonitorConfig
from tests.servers import free_port


class _AlertedMonitor:
    """Rank 0's monitor after the service reported a critical alert (no HTTP needed here)."""

    stop_notice = AlertNotice(
        10, Severity.CRITICAL, "model.layers.1", "direction:em", "persistence", 7.0
    )

    def after_step(self, model: object, step: int) -> bool:
        return True

    def take_save_request(self) -> bool:
        return True

    def wait_for_answers(self, timeout: float) -> bool:
        return True


def _rank(rank: int, port: int, results: dict[int, tuple[bool, bool]], tmp: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        callback = EmwatchCallback(
            MonitorConfig(
                url="http://unused",
                run="ddp",
                probe_pack="p",
                stop_on=Severity.CRITICAL,
                save_on=Severity.CRITICAL,
            )
        )
        if rank == 0:
            callback.monitor = _AlertedMonitor()  # type: ignore[assignment]
        state, control = TrainerState(), TrainerControl()
        state.global_step = 10
        callback.on_step_end(
            TrainingArguments(output_dir=tmp, report_to=[]), state, control, model=None
        )
        results[rank] = (control.should_training_stop, control.should_save)
    finally:
        dist.destroy_process_group()


def test_stop_and_save_are_broadcast_to_all_ranks(tmp_path: Path) -> None:
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_rank, args=(free_port(), results, str(tmp_path)), nprocs=2, join=True)
        assert dict(results) == {0: (True, True), 1: (True, True)}
