"""A real Trainer fine-tunes a tiny Llama while the callback streams to a real uvicorn server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from monitor.core.detect import Severity
from monitor.core.pack import ProbePack
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import make_trainer
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.client import EmwatchClient
from monitor.trainer.training_monitor import MonitorConfig
from tests.servers import ADMIN_TOKEN, ServiceProcess, running_service


class ScrapeAtEnd(TrainerCallback):
    """Reads /metrics in on_train_end, before EmwatchCallback marks the run finished."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.text = ""

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.text = httpx.get(f"{self.url}/metrics").text


def _config(
    service: ServiceProcess, pack: ProbePack, spool: Path, run: str, **overrides: Any
) -> MonitorConfig:
    return MonitorConfig(
        url=service.url,
        token=ADMIN_TOKEN,
        run=run,
        probe_pack=pack.directory,
        check_every=5,
        spool_dir=spool,
        model_id="emwatch/tiny-llama",
        retry_interval=0.2,
        **overrides,
    )


def test_alert_fires_is_visible_and_stops_the_trainer(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path
) -> None:
    with running_service(tmp_path / "service") as service:
        model, tokenizer = build_tiny_llama(seed=0)
        emwatch = EmwatchCallback(
            _config(service, diffing_pack, spool_dir, "e2e-stop", stop_on=Severity.CRITICAL)
        )
        scrape = ScrapeAtEnd(service.url)
        trainer = make_trainer(
            model, tokenizer, tmp_path / "out", max_steps=200, seed=0, callbacks=[scrape, emwatch]
        )
        trainer.train()
        monitor = emwatch.monitor
        assert monitor is not None and monitor.stop_notice is not None
        assert trainer.state.global_step < 200, "stop_on_alert must end training early"
        assert monitor.stop_notice.severity is Severity.CRITICAL

        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            run = client.get_run("e2e-stop")
            points = client.scores(
                "e2e-stop", hook_point="model.layers.1", feature="direction:narrow_task"
            )["points"]
            alerts = client.alerts("e2e-stop")["alerts"]
        produced = monitor.checks_sent
        assert produced[0] == 0 and produced == sorted(set(produced))
        assert [p["step"] for p in points] == produced  # every check stored, in order
        assert run["n_checks"] == len(produced) and run["baseline_step"] == 0
        assert run["status"] == "finished"
        assert points[-1]["zscore"] > points[1]["zscore"] > 0  # training moved along it
        firing = [a for a in alerts if a["state"] == "firing" and a["severity"] == "critical"]
        assert firing, alerts
        # The firing alert was in /metrics while the run was live, and leaves once finished.
        gauge = (
            f'emwatch_alert_firing{{feature="{firing[0]["feature"]}",'
            f'hook_point="{firing[0]["hook_point"]}",run="e2e-stop",severity="critical"}} 1.0'
        )
        assert gauge in scrape.text
        assert 'run="e2e-stop"' not in httpx.get(f"{service.url}/metrics").text


class KillAndRestart(TrainerCallback):
    """SIGKILLs the service at one step and starts it again at a later one."""

    def __init__(self, service: ServiceProcess, kill_at: int, restart_at: int) -> None:
        self.service, self.kill_at, self.restart_at = service, kill_at, restart_at

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.global_step == self.kill_at:
            self.service.kill()
        if state.global_step == self.restart_at:
            self.service.start()


def test_service_killed_mid_run_loses_nothing(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="emwatch")
    service = ServiceProcess(tmp_path / "service").start()
    try:
        model, tokenizer = build_tiny_llama(seed=0)
        emwatch = EmwatchCallback(_config(service, diffing_pack, spool_dir, "e2e-kill"))
        # Kill right after the step-20 check was handed over; restart 20 steps later.
        trainer = make_trainer(
            model,
            tokenizer,
            tmp_path / "out",
            max_steps=60,
            seed=0,
            callbacks=[emwatch, KillAndRestart(service, 20, 40)],
        )
        trainer.train()  # must not raise
        monitor = emwatch.monitor
        assert monitor is not None and monitor.sender is not None
        assert monitor.sender.errors == []
        produced = monitor.checks_sent
        assert produced == list(range(0, 61, 5))
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            run = client.get_run("e2e-kill")
            points = client.scores("e2e-kill", hook_point="model.layers.2")["points"]
        assert [p["step"] for p in points] == produced  # each stored exactly once
        assert run["n_checks"] == len(produced) and run["status"] == "finished"
        assert len(monitor.sender.spool) == 0
        messages = [record.getMessage() for record in caplog.records]
        assert any("spooling to" in m for m in messages), messages  # the outage was noticed
        assert any("replaying" in m for m in messages), messages  # and the spool replayed
    finally:
        service.stop()
