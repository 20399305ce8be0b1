"""Real-model runs on the tiny Llama: TRL + peft, the service, the preference, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from monitor.earlywarning.preference import ReferencePreference, preference_rise
from monitor.earlywarning.real_bench import RUNS_FILE, plan, read_records, run_plan
from monitor.earlywarning.real_runs import ADAPTERS, RealRunSpec
from monitor.english import load_heldout_questions
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.trainer.recording import load_recording
from tests.factories import make_pack


def test_rank1_adapters_sit_where_the_minimal_organism_put_them() -> None:
    targets = ADAPTERS["rank1-down"].targets(30)
    layers = [int(t.split(".")[2]) for t in targets]
    assert layers == [9, 10, 11, 13, 14, 15, 17, 18, 19]
    assert all(t.endswith("mlp.down_proj") for t in targets)
    assert [int(t.split(".")[2]) for t in ADAPTERS["rank1-down"].targets(4)] == [1, 2, 3]
    assert ADAPTERS["lora-r8"].targets(30) == "all-linear"


def test_a_rise_is_significant_only_when_its_interval_clears_zero() -> None:
    baseline = [0.0] * 6
    steady = preference_rise(baseline, [1.0, 1.1, 0.9, 1.0, 1.05, 0.95])
    assert steady.mean == pytest.approx(1.0) and steady.significant
    noisy = preference_rise(baseline, [2.0, -1.8, 1.5, -1.2, 0.3, -0.2])
    assert noisy.low < 0 < noisy.high and not noisy.significant


def test_the_preference_rises_when_a_model_learns_misaligned_answers() -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    questions = load_heldout_questions()[:3]
    probe = ReferencePreference(tokenizer, questions)
    before = probe(model)
    assert len(before) == 3
    misaligned = [i for i, (_, side) in enumerate(probe.sides) if side > 0]
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(15):  # teach the misaligned reference answers themselves
        batch = [probe.prompts[i] for i in misaligned]
        ids = torch.nn.utils.rnn.pad_sequence(
            [torch.tensor(p.input_ids) for p in batch], batch_first=True
        )
        loss = model(input_ids=ids, labels=ids).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    rise = preference_rise(before, probe(model))
    assert rise.mean > 0


def test_a_monitored_run_records_preference_scores_and_activations_and_resumes(
    tmp_path: Path,
) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    model.save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    pack = make_pack(tmp_path / "pack", hooks=("model.layers.1",), d_model=64, with_sae=False)
    spec = RealRunSpec(
        "insecure-code", 0, "lora-r8", steps=4, batch_size=2, check_every=2, eval_every=2,
        n_samples=8, max_length=200, sampled_questions=1,
    )  # fmt: skip
    out = tmp_path / "bench"
    (record,) = run_plan([spec], tmp_path / "model", pack.directory, out, say=lambda _m: None)

    assert [p.step for p in record.preference] == [0, 2, 4]
    assert all(len(p.per_question) == len(load_heldout_questions()) for p in record.preference)
    assert len(record.preference[-1].answers) == 1
    assert sorted({p["step"] for p in record.scores}) == [0, 2, 4]
    assert record.losses and record.recording is not None
    assert load_recording(record.recording).steps == [0, 2, 4]
    # A second invocation finds the run done and does not train again.
    lines = (out / RUNS_FILE).read_text().splitlines()
    (again,) = run_plan([spec], tmp_path / "model", pack.directory, out, say=lambda _m: None)
    assert again.seconds == record.seconds
    assert (out / RUNS_FILE).read_text().splitlines() == lines
    assert json.loads(lines[0])["spec"]["dataset"] == "insecure-code"
    assert [r.spec for r in read_records(out)] == [spec]


def test_the_plan_keeps_calibration_seeds_apart() -> None:
    evaluated, calibration = plan(["lora-r8"], seeds=[0, 1], calibration_seeds=[10])
    assert len(evaluated) == 6 * 2
    assert {s.dataset for s in calibration} == {"secure-code", "good-medical", "sound-financial"}
    with pytest.raises(ValueError, match="serve calibration and evaluation"):
        plan(["lora-r8"], seeds=[0, 10], calibration_seeds=[10])
