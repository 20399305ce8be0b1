"""One rank of a monitored DDP fine-tune over gloo (run by test_ddp_torchrun under torchrun).

    torchrun --nproc_per_node 2 -m tests.e2e.ddp_trainer CONFIG.json

Every rank trains the tiny model on its shard of the narrow task with an EmwatchCallback that
stops on a critical alert, and writes what it saw to ``<output>/rank-<rank>.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch.distributed as dist

from monitor.core.detect import Severity
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import make_trainer
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.training_monitor import MonitorConfig


def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())
    model, tokenizer = build_tiny_llama(seed=0)
    emwatch = EmwatchCallback(
        MonitorConfig(
            url=config["url"],
            token=config["token"],
            run="ddp",
            probe_pack=Path(config["probe_pack"]),
            check_every=config["check_every"],
            spool_dir=Path(config["spool_dir"]),
            retry_interval=0.1,
            stop_on=Severity.CRITICAL,
        )
    )
    output = Path(config["output_dir"])
    trainer = make_trainer(
        model, tokenizer, output, max_steps=config["max_steps"], callbacks=[emwatch]
    )
    trainer.train()
    monitor = emwatch.monitor
    report = {
        "world_size": dist.get_world_size(),
        "backend": dist.get_backend(),
        "global_step": trainer.state.global_step,
        "checks_sent": monitor.checks_sent if monitor else None,
        "stop_step": monitor.stop_notice.step if monitor and monitor.stop_notice else None,
    }
    (output / f"rank-{dist.get_rank()}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
