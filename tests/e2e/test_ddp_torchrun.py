"""DDP over gloo with two processes started by torchrun: rank 0 alone captures and sends, and
both ranks stop on the same step, at most one step after the alerting check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from monitor.core.pack import ProbePack
from monitor.trainer.client import EmwatchClient
from tests.servers import ADMIN_TOKEN, free_port, running_service

ROOT = Path(__file__).resolve().parents[2]
MAX_STEPS = 200


def test_two_ranks_one_sender_and_a_stop_agreed_on_the_same_step(
    diffing_pack: ProbePack, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    with running_service(tmp_path / "service") as service:
        config = tmp_path / "ddp.json"
        config.write_text(
            json.dumps(
                {
                    "url": service.url,
                    "token": ADMIN_TOKEN,
                    "probe_pack": str(diffing_pack.directory),
                    "check_every": 5,
                    "spool_dir": str(tmp_path / "spool"),
                    "output_dir": str(output),
                    "max_steps": MAX_STEPS,
                }
            )
        )
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            f"--master_port={free_port()}",
            "-m",
            "tests.e2e.ddp_trainer",
            str(config),
        ]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=540)
        assert done.returncode == 0, done.stderr[-4000:]
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            run = client.get_run("ddp")
    ranks = [json.loads((output / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [(r["world_size"], r["backend"]) for r in ranks] == [(2, "gloo"), (2, "gloo")]
    first, second = ranks
    assert second["checks_sent"] is None  # rank 1 has no monitor: one sender
    assert first["checks_sent"] == list(range(0, first["global_step"] + 1, 5))
    assert run["n_checks"] == len(first["checks_sent"])
    assert first["stop_step"] is not None, "the narrow fine-tune alerts"
    assert first["global_step"] == second["global_step"] < MAX_STEPS
    assert first["stop_step"] <= first["global_step"] <= first["stop_step"] + 1
