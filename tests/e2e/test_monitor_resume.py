"""``TrainingMonitor.start(model, step=N)`` in a plain loop, against a real service: the dead
branch is superseded (or, never sent, dropped from the spool), the step-N check is sent only
where it is missing, and a finished run is reopened unless the config says not to."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from monitor.core.pack import ProbePack
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import ChatDataset, narrow_task, pad_batch
from monitor.trainer.client import EmwatchClient
from monitor.trainer.training_monitor import MonitorConfig, TrainingMonitor
from tests.servers import ADMIN_TOKEN, ServiceProcess, running_service

FEATURE = {"hook_point": "model.layers.1", "feature": "direction:narrow_task"}


class NarrowLoop:
    """The tiny model's narrow fine-tune as a plain loop whose state can be saved and restored."""

    def __init__(self) -> None:
        self.model, self.tokenizer = build_tiny_llama(seed=0)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=2e-3)
        self.data = ChatDataset(self.tokenizer, narrow_task(64))

    def train_step(self, step: int, lr_scale: float = 1.0) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = 2e-3 * lr_scale
        pad_id = int(self.tokenizer.pad_token_id or 0)
        batch = pad_batch(pad_id, [self.data[(step * 8 + i) % len(self.data)] for i in range(8)])
        self.model.train()
        self.model(**batch).loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()

    def checkpoint(self) -> dict[str, Any]:
        return copy.deepcopy(
            {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}
        )

    def restore(self, checkpoint: dict[str, Any]) -> None:
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])


def monitor(
    url: str, pack: ProbePack, spool: Path, loop: NarrowLoop, **overrides: Any
) -> TrainingMonitor:
    config = MonitorConfig(
        url=url,
        token=ADMIN_TOKEN,
        run="loop",
        probe_pack=pack.directory,
        check_every=1,
        spool_dir=spool,
        retry_interval=0.1,
        flush_timeout=30,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return TrainingMonitor(config, loop.tokenizer)


def killed_branch(first: TrainingMonitor, loop: NarrowLoop) -> dict[str, Any]:
    """Steps 1-12, the last two at 10x the learning rate (a branch a resume will not repeat);
    the process then 'dies': its sender stops, nothing is marked finished. Returns the
    checkpoint of step 10."""
    first.start(loop.model)
    checkpoint: dict[str, Any] = {}
    for step in range(1, 13):
        loop.train_step(step, lr_scale=10.0 if step > 10 else 1.0)
        first.after_step(loop.model, step)
        if step == 10:
            checkpoint = loop.checkpoint()
    assert first.sender is not None
    first.sender.close(timeout=5)
    return checkpoint


def resumed_branch(second: TrainingMonitor, loop: NarrowLoop, checkpoint: dict[str, Any]) -> None:
    loop.restore(checkpoint)
    second.start(loop.model, step=10)
    for step in range(11, 21):
        loop.train_step(step)
        assert second.after_step(loop.model, step) is False
    assert second.close() is True


def test_resume_supersedes_the_dead_branch_and_sends_no_second_step_check(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="emwatch")
    loop = NarrowLoop()
    with running_service(tmp_path / "service") as service:
        first = monitor(service.url, diffing_pack, spool_dir, loop)
        checkpoint = killed_branch(first, loop)
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            dead = {p["step"]: p["value"] for p in client.scores("loop", **FEATURE)["points"]}
        second = monitor(service.url, diffing_pack, spool_dir, loop)
        resumed_branch(second, loop, checkpoint)
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            run = client.get_run("loop")
            points = client.scores("loop", include_superseded=True, **FEATURE)["points"]
    assert second.checks_sent == list(range(11, 21))  # no second check at step 10
    live = {p["step"]: p["value"] for p in points if not p["superseded"]}
    superseded = {p["step"]: p["value"] for p in points if p["superseded"]}
    assert sorted(live) == list(range(21)) and superseded == {11: dead[11], 12: dead[12]}
    assert live[10] == dead[10]  # the interrupted run's own step-10 check stays
    assert live[11] != dead[11]  # the new branch, stored without a conflict
    assert [(r["from_step"], r["superseded"]) for r in run["resumes"]] == [(10, 2)]
    assert "the service set aside 2 later checks" in caplog.text
    assert "409" not in caplog.text and "refused" not in caplog.text


def test_spooled_checks_of_the_dead_branch_are_dropped_not_replayed(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loop = NarrowLoop()
    service = ServiceProcess(tmp_path / "service")  # down while the first branch trains
    try:
        first = monitor(service.url, diffing_pack, spool_dir, loop)
        checkpoint = killed_branch(first, loop)
        assert first.sender is not None and first.sender.spool.steps() == list(range(13))
        service.start()
        second = monitor(service.url, diffing_pack, spool_dir, loop)
        with caplog.at_level(logging.WARNING, logger="emwatch"):
            resumed_branch(second, loop, checkpoint)
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            points = client.scores("loop", include_superseded=True, **FEATURE)["points"]
    finally:
        service.stop()
    assert [p["step"] for p in points] == list(range(21))  # 0-10 replayed, 11-20 sent
    assert not any(p["superseded"] for p in points)
    assert "dropped 2 spooled checks of the interrupted branch (steps 11-12)" in caplog.text
    assert "409" not in caplog.text


def test_a_new_run_starting_mid_training_takes_its_first_check_as_baseline(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path
) -> None:
    loop = NarrowLoop()
    with running_service(tmp_path / "service") as service:
        started = monitor(service.url, diffing_pack, spool_dir, loop, check_every=5)
        started.start(loop.model, step=7)
        for step in range(8, 21):
            loop.train_step(step)
            started.after_step(loop.model, step)
        assert started.close() is True
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            run = client.get_run("loop")
            points = client.scores("loop", **FEATURE)["points"]
    assert [p["step"] for p in points] == [7, 10, 15, 20]
    assert run["baseline_step"] == 7


def test_a_finished_run_is_reopened_unless_the_config_says_not_to(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    loop = NarrowLoop()
    with running_service(tmp_path / "service") as service:
        finished = monitor(service.url, diffing_pack, spool_dir, loop, check_every=2)
        finished.start(loop.model)
        for step in (1, 2):
            loop.train_step(step)
            finished.after_step(loop.model, step)
        assert finished.close() is True

        kept = monitor(service.url, diffing_pack, spool_dir, loop, reopen_finished=False)
        with caplog.at_level(logging.WARNING, logger="emwatch"):
            kept.start(loop.model, step=2)
            kept.after_step(loop.model, 3)
            assert kept.close() is False  # nothing was sent
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            after_kept = client.get_run("loop")
        assert "reopen_finished=False) keeps it so" in caplog.text
        assert (after_kept["status"], after_kept["last_step"]) == ("finished", 2)

        reopened = monitor(service.url, diffing_pack, spool_dir, loop)
        reopened.start(loop.model, step=2)
        reopened.after_step(loop.model, 3)
        assert reopened.close() is True
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            after_reopened = client.get_run("loop")
    assert (after_reopened["status"], after_reopened["last_step"]) == ("finished", 3)
