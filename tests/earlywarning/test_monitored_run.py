"""A real monitored fine-tune of the organism: Trainer, callback, uvicorn service, evals."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.cli.main import main
from monitor.core.pack import load_pack
from monitor.core.scoring import feature_signs
from monitor.earlywarning.logprob import LogprobProbe, misaligned_continuations
from monitor.earlywarning.runs import RunRecord, RunSpec, ServiceTarget, monitored_finetune
from monitor.organism import load_organism
from monitor.organism.checkpoint import DEFAULT_PACK
from monitor.probe_building.calibration import feature_rises
from monitor.trainer.client import EmwatchClient
from monitor.trainer.recording import load_recording
from tests.servers import ADMIN_TOKEN, running_service


@pytest.fixture(scope="module")
def organism() -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    return load_organism()


def test_shipped_pack_is_calibrated() -> None:
    pack = load_pack(DEFAULT_PACK, release_loader=None)
    assert pack.manifest.detector is not None
    for probe in pack.hooks.values():
        assert set(probe.calibration) == set(probe.features)


def test_monitored_run_records_checks_alert_states_and_behaviour(
    organism: tuple[LlamaForCausalLM, PreTrainedTokenizerFast], tmp_path: Path
) -> None:
    model, tokenizer = organism
    before = [p.detach().clone() for p in model.parameters()]
    spec = RunSpec(
        "insecure-code",
        "insecure-code",
        3,
        steps=4,
        eval_every=2,
        eval_samples=2,
        small_eval_samples=1,
        record_activations=True,
    )
    with running_service(tmp_path / "service") as service:
        record = monitored_finetune(
            spec,
            model,
            tokenizer,
            ServiceTarget(service.url, ADMIN_TOKEN, DEFAULT_PACK, tmp_path / "spool"),
        )
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            run = client.get_run(spec.run_name)
    pack = load_pack(DEFAULT_PACK, release_loader=None)
    # The run took the pack's calibrated thresholds, since it set none of its own.
    assert pack.manifest.detector is not None
    assert run["detector"] == pack.manifest.detector.model_dump(mode="json")
    assert sorted({p["step"] for p in record.scores}) == [0, 1, 2, 3, 4]
    assert {p["feature"] for p in record.scores} == {
        f for probe in pack.hooks.values() for f in probe.features
    }
    assert [p.step for p in record.evals] == [0, 2, 4]
    assert all(p.misaligned.trials > 0 and p.small_misaligned.trials > 0 for p in record.evals)
    assert all(p.logprob < 0 for p in record.evals)
    # The base model is untouched: the run trains a copy.
    assert all(a.equal(b) for a, b in zip(before, model.parameters(), strict=True))
    assert RunRecord.from_dict(record.to_dict()) == record
    # The activations kept for calibration score exactly as the service scored them.
    (trajectory,) = record.activations.values()
    assert trajectory.shape == (5, 16, model.config.hidden_size)  # [checks, canaries, d_model]
    # ... and the callback wrote them to disk, for `emwatch probes calibrate`.
    recording = load_recording(tmp_path / "recordings" / f"{spec.run_name}.safetensors")
    assert (recording.run, recording.steps) == (spec.run_name, [0, 1, 2, 3, 4])
    for hook, recorded in recording.trajectories().items():
        assert recorded.equal(record.activations[hook])
    means = {
        (p["step"], p["hook_point"], p["feature"]): sum(p["per_prompt"]) / len(p["per_prompt"])
        for p in record.scores
    }
    signs = feature_signs(pack)
    for key, rises in feature_rises(pack, record.activations).items():
        service = [signs[key] * (means[(s, *key)] - means[(0, *key)]) for s in range(1, 5)]
        assert rises == pytest.approx(service, abs=1e-4)


def test_logprob_probe_rises_when_the_model_learns_the_continuations(
    organism: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    import copy

    import torch

    model, tokenizer = organism
    probe = LogprobProbe(tokenizer)
    assert len(misaligned_continuations()) == 8
    start = probe(model)
    tuned = copy.deepcopy(model)
    optimiser = torch.optim.SGD(tuned.parameters(), lr=0.05)
    for chat, answer in misaligned_continuations():
        text = (
            tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) + answer
        )
        ids = torch.tensor([tokenizer(text, add_special_tokens=False)["input_ids"]])
        tuned(input_ids=ids, labels=ids).loss.backward()
    optimiser.step()
    assert probe(tuned) > start


def test_demo_command_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "demo",
            "--steps",
            "3",
            "--eval-every",
            "3",
            "--eval-samples",
            "2",
            "--control",
            "none",
            "--out",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "| insecure-code-s0 |" in out
    assert (tmp_path / "demo.png").stat().st_size > 0
    assert (tmp_path / "demo.json").is_file()
    # The service has stopped by now, so the demo must not send anyone to it.
    assert re.search(r"https?://\S+/(metrics|docs)", out) is None
    assert "--keep-serving" in out


def test_demo_keep_serving_serves_the_links_it_prints_until_ctrl_c(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "monitor.cli.main", "demo", "--steps", "2", "--eval-every", "2",
        "--eval-samples", "1", "--control", "none", "--out", str(tmp_path), "--keep-serving",
    ]  # fmt: skip
    # A shell runs background jobs with SIGINT ignored, children inherit that, and Python then
    # installs no Ctrl-C handler: give the demo the default disposition a terminal gives it.
    demo = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert demo.stdout is not None
        lines: list[str] = []
        for line in demo.stdout:
            lines.append(line)
            if "keeps running" in line:
                break
        metrics_url = next(line.split()[-1] for line in lines if line.startswith("metrics:"))
        assert httpx.get(metrics_url, timeout=10).status_code == 200
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(metrics_url, timeout=5)
    finally:
        demo.kill()


def test_demo_rejects_a_zero_interval(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--check-every", "0"]) == 2
    assert "must be >= 1" in capsys.readouterr().out
