"""Resume from a checkpoint: a monitored Trainer is SIGKILLed after step 12 of 20 (checkpoints
every 5) and resumed from step 10 under the same run. The service supersedes the dead branch
(steps 11-12, kept apart), takes the new one without a 409, and ends with the alerts of an
uninterrupted run with the same seed. The killed process trains steps 11-12 differently, so its
checks there conflict with the resumed ones unless the resume sets them aside."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.core.pack import ProbePack
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.client import EmwatchClient
from tests.e2e.killed_trainer import checkpointing_trainer, monitor_config
from tests.servers import ADMIN_TOKEN, running_service

ROOT = Path(__file__).resolve().parents[2]
TRAINER = {"max_steps": 20, "save_steps": 5, "seed": 0}
ALERT_FIELDS = ("hook_point", "feature", "rule", "severity", "state", "threshold", "value", "peak")
ALERT_STEPS = ("started_step", "firing_step", "resolved_step")


def monitor_settings(url: str, pack: ProbePack, run: str, spool: Path) -> dict[str, Any]:
    return {
        "url": url,
        "token": ADMIN_TOKEN,
        "run": run,
        "probe_pack": str(pack.directory),
        "check_every": 1,
        "spool_dir": str(spool),
        "retry_interval": 0.2,
    }


def train_in_process(settings: dict[str, Any], output: Path, resume: Path | None = None) -> int:
    model, tokenizer = build_tiny_llama(seed=0)
    trainer = checkpointing_trainer(
        model, tokenizer, output, callbacks=[EmwatchCallback(monitor_config(settings))], **TRAINER
    )
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    return trainer.state.global_step


def comparable(alerts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Alerts without ids and wall-clock times, which differ between any two runs."""
    return sorted(tuple(a[k] for k in ALERT_FIELDS + ALERT_STEPS) for a in alerts)


def test_killed_trainer_resumed_from_a_checkpoint_continues_its_run(
    diffing_pack: ProbePack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="emwatch")
    with running_service(tmp_path / "service") as service:
        resumed = monitor_settings(service.url, diffing_pack, "resumed", tmp_path / "spool")
        child_config = tmp_path / "killed.json"
        child_config.write_text(
            json.dumps(
                {
                    "seed": 0,
                    "monitor": resumed,
                    "output_dir": str(tmp_path / "killed"),
                    "diverge_after": 10,
                    "kill_after": 12,
                    "trainer": TRAINER,
                }
            )
        )
        child = subprocess.run(
            [sys.executable, "-m", "tests.e2e.killed_trainer", str(child_config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert child.returncode == -9, child.stderr[-3000:]  # SIGKILL
        checkpoints = sorted(p.name for p in (tmp_path / "killed").glob("checkpoint-*"))
        assert checkpoints == ["checkpoint-10", "checkpoint-5"]
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            before = client.get_run("resumed")
        assert (before["status"], before["last_step"]) == ("running", 12)

        caplog.clear()
        final_step = train_in_process(
            resumed, tmp_path / "killed", resume=tmp_path / "killed" / "checkpoint-10"
        )
        assert final_step == 20
        uninterrupted = monitor_settings(
            service.url, diffing_pack, "uninterrupted", tmp_path / "spool"
        )
        assert train_in_process(uninterrupted, tmp_path / "uninterrupted") == 20

        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            run = client.get_run("resumed")
            points = client.scores(
                "resumed",
                hook_point="model.layers.1",
                feature="direction:narrow_task",
                include_superseded=True,
            )["points"]
            reference = client.scores(
                "uninterrupted", hook_point="model.layers.1", feature="direction:narrow_task"
            )["points"]
            alerts = client.alerts("resumed")["alerts"]
            reference_alerts = client.alerts("uninterrupted")["alerts"]
        metrics = httpx.get(f"{service.url}/metrics").text

    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "409" in m or "refused" in m], messages
    assert 'emwatch_checks_received_total{outcome="conflict"}' not in metrics or (
        'emwatch_checks_received_total{outcome="conflict"} 0.0' in metrics
    )
    live = [p["step"] for p in points if not p["superseded"]]
    superseded = [p["step"] for p in points if p["superseded"]]
    assert live == list(range(21)) and superseded == [11, 12]
    assert (run["n_checks"], run["last_step"], run["status"]) == (21, 20, "finished")
    assert [(r["from_step"], r["superseded"]) for r in run["resumes"]] == [(10, 2)]
    # The new branch is the uninterrupted run, check for check, and so are the alerts.
    assert [p["zscore"] for p in points if not p["superseded"]] == pytest.approx(
        [p["zscore"] for p in reference], rel=1e-6, abs=1e-9
    )
    assert reference_alerts, "the narrow fine-tune alerts within 20 steps"
    assert comparable(alerts) == comparable(reference_alerts)
