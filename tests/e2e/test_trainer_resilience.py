"""The monitor never breaks training: outages, misconfiguration, strict mode, checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from monitor.core.detect import Severity
from monitor.core.pack import ProbePack
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import ChatDataset, make_trainer, narrow_task, pad_batch
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.client import EmwatchClient
from monitor.trainer.recording import load_recording
from monitor.trainer.training_monitor import MonitorConfig, MonitorError, TrainingMonitor
from tests.servers import ADMIN_TOKEN, ServiceProcess, free_port, running_service


def test_plain_loop_api_with_service_down_at_start(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path
) -> None:
    """Documented loop API; the service comes up only mid-training."""
    model, tokenizer = build_tiny_llama(seed=0)
    service = ServiceProcess(tmp_path / "service")  # not started yet
    monitor = TrainingMonitor(
        MonitorConfig(
            url=service.url,
            token=ADMIN_TOKEN,
            run="plain-loop",
            probe_pack=diffing_pack.directory,
            check_every=4,
            spool_dir=spool_dir,
            retry_interval=0.2,
            flush_timeout=30,
        ),
        tokenizer,
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    data = ChatDataset(tokenizer, narrow_task(64))
    pad_id = int(tokenizer.pad_token_id or 0)
    monitor.start(model)  # service unreachable: registration and baseline wait in the spool
    try:
        for step in range(1, 25):
            batch = pad_batch(pad_id, [data[(step * 8 + i) % len(data)] for i in range(8)])
            model.train()
            model(**batch).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if step == 12:
                service.start()
            assert monitor.after_step(model, step) is False
        assert monitor.close() is True
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            steps = [
                p["step"]
                for p in client.scores(
                    "plain-loop", feature="direction:narrow_task", hook_point="model.layers.1"
                )["points"]
            ]
        assert steps == list(range(0, 25, 4)) == monitor.checks_sent
    finally:
        service.stop()


def test_no_service_at_all_never_breaks_training(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path
) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    config = MonitorConfig(
        url=f"http://127.0.0.1:{free_port()}",
        token=ADMIN_TOKEN,
        run="nowhere",
        probe_pack=diffing_pack.directory,
        check_every=5,
        spool_dir=spool_dir,
        retry_interval=0.1,
        flush_timeout=1,
        stop_on=Severity.WARNING,
    )
    callback = EmwatchCallback(config)
    trainer = make_trainer(model, tokenizer, tmp_path / "out", max_steps=20, callbacks=[callback])
    trainer.train()
    assert trainer.state.global_step == 20
    monitor = callback.monitor
    assert monitor is not None and monitor.sender is not None
    assert monitor.sender.spool.steps() == [0, 5, 10, 15, 20]  # kept for a later replay


def test_pack_name_unknown_and_service_down(tmp_path: Path, spool_dir: Path) -> None:
    """Non-strict: a warning and training goes on. Strict: the problem is raised."""
    _, tokenizer = build_tiny_llama(seed=0)
    model, _ = build_tiny_llama(seed=0)
    url = f"http://127.0.0.1:{free_port()}"
    lenient = TrainingMonitor(
        MonitorConfig(url=url, run="x", probe_pack="not-registered", spool_dir=spool_dir), tokenizer
    )
    lenient.start(model)
    assert lenient.capture is None and lenient.after_step(model, 50) is False
    strict = TrainingMonitor(
        MonitorConfig(
            url=url, run="x", probe_pack="not-registered", spool_dir=spool_dir, strict=True
        ),
        tokenizer,
    )
    with pytest.raises(MonitorError, match="unreachable"):
        strict.start(model)


def test_strict_mode_raises_service_rejections(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path
) -> None:
    """A pack for another model width: the service refuses, strict mode surfaces it."""
    model, tokenizer = build_tiny_llama(seed=0, hidden_size=32)
    with running_service(tmp_path / "service") as service:
        monitor = TrainingMonitor(
            MonitorConfig(
                url=service.url,
                token=ADMIN_TOKEN,
                run="strict",
                probe_pack=diffing_pack.directory,
                spool_dir=spool_dir,
                strict=True,
                retry_interval=0.1,
            ),
            tokenizer,
        )
        monitor.start(model)
        assert monitor.sender is not None and monitor.sender.wait_idle(30)
        with pytest.raises(MonitorError, match="d_model 32"):
            monitor.check(model, 5)


def test_save_on_alert_writes_a_checkpoint_with_gradient_checkpointing(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path
) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    with running_service(tmp_path / "service") as service:
        callback = EmwatchCallback(
            MonitorConfig(
                url=service.url,
                token=ADMIN_TOKEN,
                run="save-on-alert",
                probe_pack=diffing_pack.directory,
                check_every=5,
                spool_dir=spool_dir,
                save_on=Severity.WARNING,
                stop_on=Severity.CRITICAL,
                retry_interval=0.1,
            )
        )
        trainer = make_trainer(
            model,
            tokenizer,
            tmp_path / "out",
            max_steps=200,
            callbacks=[callback],
            gradient_checkpointing=True,
        )
        trainer.train()
    monitor = callback.monitor
    assert monitor is not None and monitor.save_notice is not None
    checkpoints = sorted((tmp_path / "out").glob("checkpoint-*"))
    assert checkpoints, "save_on_alert must make the Trainer save"
    saved_at = int(checkpoints[0].name.split("-")[1])
    assert saved_at >= monitor.save_notice.step
    assert trainer.state.global_step < 200  # and stop_on still stopped it


def test_recording_needs_no_service_and_an_unwritable_path_only_warns(
    diffing_pack: ProbePack,
    tmp_path: Path,
    spool_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Healthy runs for calibration can be recorded offline; a bad path never stops training."""
    model, tokenizer = build_tiny_llama(seed=0)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    good = tmp_path / "recordings" / "healthy.safetensors"
    for run, record_to in (("healthy", good), ("blocked", blocker / "run.safetensors")):
        config = MonitorConfig(
            url=f"http://127.0.0.1:{free_port()}",
            token=ADMIN_TOKEN,
            run=run,
            probe_pack=diffing_pack.directory,
            check_every=5,
            spool_dir=spool_dir,
            retry_interval=0.1,
            flush_timeout=1,
            record_to=record_to,
        )
        trainer = make_trainer(
            model, tokenizer, tmp_path / run, max_steps=10, callbacks=[EmwatchCallback(config)]
        )
        trainer.train()
        assert trainer.state.global_step == 10
    recording = load_recording(good)
    assert (recording.run, recording.steps) == ("healthy", [0, 5, 10])
    assert set(recording.trajectories()) == set(diffing_pack.hook_points)
    assert "could not write the recording" in caplog.text
