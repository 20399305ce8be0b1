"""bf16 training: a Trainer under bf16 autocast (float32 weights) and a full fine-tune with bf16
weights. The checks are read off the wire (the spool, while the service is still down), then
the service comes up, takes them all and scores them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from monitor.core.pack import ProbePack
from monitor.core.wire import decode_check
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import HOOK_POINTS, make_trainer
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.capture import ActivationCapture
from monitor.trainer.client import EmwatchClient
from monitor.trainer.spool import Spool
from monitor.trainer.training_monitor import MonitorConfig
from tests.servers import ADMIN_TOKEN, ServiceProcess


class ServiceAtTrainEnd(TrainerCallback):
    """Before EmwatchCallback flushes: keep the spooled check bodies, then start the service."""

    def __init__(self, service: ServiceProcess, spool: Spool) -> None:
        self.service, self.spool = service, spool
        self.bodies: dict[int, bytes] = {}

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.bodies = {step: self.spool.read(step) for step in self.spool.steps()}
        self.service.start()


def train_bf16(
    model: torch.nn.Module,
    pack: ProbePack,
    tmp_path: Path,
    wire_dtype: str,
    **trainer_arguments: Any,
) -> tuple[EmwatchCallback, ServiceAtTrainEnd, dict[str, Any], list[dict[str, Any]]]:
    _, tokenizer = build_tiny_llama(seed=0)
    service = ServiceProcess(tmp_path / "service")
    spool_dir = tmp_path / "spool"
    at_end = ServiceAtTrainEnd(service, Spool(spool_dir, "bf16"))
    emwatch = EmwatchCallback(
        MonitorConfig(
            url=service.url,
            token=ADMIN_TOKEN,
            run="bf16",
            probe_pack=pack.directory,
            check_every=2,
            spool_dir=spool_dir,
            retry_interval=0.1,
            dtype=wire_dtype,
        )
    )
    trainer = make_trainer(
        model,
        tokenizer,
        tmp_path / "out",
        max_steps=4,
        callbacks=[at_end, emwatch],
        **trainer_arguments,
    )
    try:
        trainer.train()
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            run = client.get_run("bf16")
            points = client.scores("bf16")["points"]
    finally:
        service.stop()
    return emwatch, at_end, run, points


def wire_tensors(body: bytes) -> dict[str, torch.Tensor]:
    return load(body)  # as stored: the declared dtype


def test_bf16_autocast_captures_in_bf16_and_sends_float32(
    diffing_pack: ProbePack, tmp_path: Path
) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    emwatch, at_end, run, points = train_bf16(model, diffing_pack, tmp_path, "float32", bf16=True)
    assert emwatch.monitor is not None and emwatch.monitor.config.autocast == "bfloat16"
    assert sorted(at_end.bodies) == [0, 2, 4]
    for body in at_end.bodies.values():
        tensors = wire_tensors(body)
        assert {t.dtype for t in tensors.values()} == {torch.float32}
        assert all(torch.isfinite(t).all() for t in tensors.values())
    # The baseline was captured under bf16 autocast: near a float32 capture, not equal to it.
    untrained, _ = build_tiny_llama(seed=0)
    float32 = ActivationCapture(tokenizer, emwatch.monitor.capture.canaries, HOOK_POINTS).capture(
        untrained
    )
    baseline = decode_check(at_end.bodies[0]).activations
    for hook in HOOK_POINTS:
        error = float((baseline[hook] - float32[hook]).norm() / float32[hook].norm())
        assert 0 < error < 0.05, (hook, error)
    assert run["n_checks"] == 3 and all(math.isfinite(p["zscore"]) for p in points)


def test_bf16_weights_send_bf16_as_declared(diffing_pack: ProbePack, tmp_path: Path) -> None:
    model, _ = build_tiny_llama(seed=0)
    model = model.to(torch.bfloat16)
    emwatch, at_end, run, points = train_bf16(model, diffing_pack, tmp_path, "bfloat16")
    assert emwatch.monitor is not None and emwatch.monitor.config.autocast is None
    assert sorted(at_end.bodies) == [0, 2, 4]
    for body in at_end.bodies.values():
        check = decode_check(body)
        assert {t.dtype for t in wire_tensors(body).values()} == {torch.bfloat16}
        assert all(torch.isfinite(t).all() for t in check.activations.values())
    assert run["n_checks"] == 3 and all(math.isfinite(p["zscore"]) for p in points)
    assert next(model.parameters()).dtype == torch.bfloat16  # the monitor cast nothing
