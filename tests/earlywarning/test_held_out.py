"""Leave-one-domain-out: the folds, the plan, and judging recorded runs by replay."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from monitor.earlywarning.held_out import (
    DOMAINS,
    HeldOutPlan,
    Protocol,
    calibrated_copy,
    detection_summary,
    domain_of,
    first_latent_alert_step,
    judge_protocol,
    protocols,
    watched_latent_activity,
)
from monitor.earlywarning.recorded_runs import RecordedRun, record_runs, recording_path
from monitor.earlywarning.runs import EvalPoint, RunRecord, RunSpec
from monitor.evals.stats import Proportion
from monitor.organism.datasets import DATASETS
from monitor.organism.world import DOMAINS as WORLD_DOMAINS
from monitor.trainer.recording import CheckRecording
from tests.factories import D_MODEL, direction_vector, make_pack

HOOK = "model.layers.1"
STEPS = list(range(0, 21))  # a check every step, an eval every 2


def test_every_domain_of_the_world_has_a_bad_set_and_a_healthy_twin() -> None:
    narrow = {d for d in WORLD_DOMAINS if d != "open"}
    assert {domain for domain, sets in DOMAINS.items() if sets.bad} == narrow
    for sets in DOMAINS.values():
        assert DATASETS[sets.healthy].persona == "assistant"
        if sets.bad:
            assert DATASETS[sets.bad].persona == "villain"
            assert DATASETS[sets.bad].domain == DATASETS[sets.healthy].domain


def test_each_fold_holds_one_domain_out_of_calibration() -> None:
    folds = [p for p in protocols() if p.name.startswith("without-")]
    assert sorted(f.held_out for f in folds) == sorted((d,) for d in DOMAINS)
    shipped = next(p for p in protocols() if p.name == "shipped")
    assert shipped.held_out == ("finance", "everyday", "chat")


def test_the_plan_keeps_calibration_development_and_bench_seeds_apart() -> None:
    plan = HeldOutPlan()
    names = [s.run_name for s in plan.all_specs()]
    assert len(names) == len(set(names)) == 15 + 9 + 45
    calibration = {s.seed for s in plan.calibration_specs()}
    assert not calibration & {*plan.development_seeds, *plan.bench_seeds}
    assert {s.dataset for s in plan.calibration_specs()} == {s.healthy for s in DOMAINS.values()}
    quick = HeldOutPlan.quick()
    assert len(quick.all_specs()) == 5 + 9
    assert {s.run_name for s in quick.all_specs()} <= set(names)  # a later full run reuses them


def recorded(dataset: str, seed: int, drift: torch.Tensor, onset: int | None) -> RecordedRun:
    """A run whose two canaries' mean moves by ``drift`` per step; behaviour turns at
    ``onset`` (50% misaligned from there on)."""
    spec = RunSpec(dataset, dataset, seed)
    evals = [
        EvalPoint(
            step,
            Proportion(50 if onset is not None and step >= onset else 1, 100),
            Proportion(90, 100),
            Proportion(0, 32),
            -5.0,
        )
        for step in STEPS[::2]
    ]
    recording = CheckRecording(spec.run_name, "hash")
    spread = torch.stack([torch.ones(D_MODEL), -torch.ones(D_MODEL)])  # [2, d]
    for step in STEPS:
        recording.append(step, {HOOK: spread + step * drift})  # [2, d]
    return RecordedRun(RunRecord(spec, evals), recording)


@pytest.fixture
def runs() -> list[RecordedRun]:
    """Healthy runs drift the same small way in every domain; bad runs move along the pack's
    direction and turn at step 10."""
    toward = direction_vector(0) / direction_vector(0).norm()  # [d]
    noise = torch.randn(D_MODEL, generator=torch.Generator().manual_seed(7)) * 0.01  # [d]
    healthy = [
        recorded(DOMAINS[d].healthy, seed, noise * (1 + seed % 3), None)
        for d in ("code", "medical", "finance")
        for seed in (100, 101)
    ]
    bad = [recorded(DOMAINS[d].bad or "", 0, 0.5 * toward, 10) for d in ("code", "finance")]
    twins = [recorded(DOMAINS[d].healthy, 0, noise, None) for d in ("code", "finance")]
    return [*healthy, *bad, *twins]


def test_a_fold_calibrates_only_on_the_domains_it_keeps(
    runs: list[RecordedRun], tmp_path: Path
) -> None:
    base = make_pack(tmp_path / "pack", hooks=(HOOK,), with_sae=False).directory
    fold = Protocol("without-finance", ("code", "medical"))
    calibration_runs = [r for r in runs if r.record.spec.seed >= 100]
    pack_dir, calibration = calibrated_copy(base, tmp_path / "out", fold, calibration_runs)
    assert {domain_of(name.rsplit("-s", 1)[0]) for name in calibration.runs} == {
        "code",
        "medical",
    }
    assert json.loads((pack_dir / "manifest.json").read_text())["detector"] is not None

    bench = [r for r in runs if r.record.spec.seed < 100]
    held, seen = judge_protocol(fold, pack_dir, calibration, bench)
    assert [r.spec.run_name for r in held.records] == ["bad-finance-s0", "good-finance-s0"]
    assert [r.spec.run_name for r in seen.records] == ["insecure-code-s0", "secure-code-s0"]
    assert held.logprob_threshold == calibration.logprob_threshold

    summary = detection_summary([held, seen])
    # The bad runs move along the direction from step 1 and turn at 10: alerted first; the
    # healthy twins drift like the calibration runs did: silent.
    assert summary["bad_runs_with_onset"] == 2
    assert summary["early"]["probes"]["before_onset"] == 2
    assert summary["healthy_runs"] == 2
    assert summary["healthy_with_critical"] == 0
    assert summary["checkpoint_auroc"] == 1.0
    # The log-probability never moves in these runs, so it never notices; combined = probes.
    assert summary["early"]["logprob"]["missed"] == 2
    assert summary["early"]["combined"] == summary["early"]["probes"]


def test_a_latent_alert_is_told_apart_from_a_direction_alert() -> None:
    run = recorded("bad-code", 0, torch.zeros(D_MODEL), 10)
    alerts = [
        {"feature": "direction:em", "firing_step": 4},
        {"feature": "latent:5", "firing_step": 9},
        {"feature": "latent:9", "firing_step": None},
    ]
    assert first_latent_alert_step(replace(run.record, alerts=alerts)) == 9
    assert first_latent_alert_step(run.record) is None


def test_watched_latent_activity_reads_the_latents_on_the_canaries(
    runs: list[RecordedRun], tmp_path: Path
) -> None:
    """The test pack's planted latent fires along its direction, so a bad run, moving along
    it for 20 steps, wakes it far more than a healthy one drifting elsewhere."""
    pack = make_pack(tmp_path / "pack", hooks=(HOOK,))
    bad = watched_latent_activity(runs[6], pack)  # bad-code-s0: along the direction
    healthy = watched_latent_activity(runs[0], pack)
    assert bad["latents"] == healthy["latents"] == 2
    assert bad["peak_mean_activation"] > 3 * healthy["peak_mean_activation"]
    assert bad["most_canaries_active_at_once"] == 2


def test_recorded_runs_are_not_fine_tuned_again(tmp_path: Path) -> None:
    """A finished run (record and recording on disk) is read back, not re-run: record_runs
    would need a service and the organism otherwise."""
    run = recorded("secure-code", 100, torch.zeros(D_MODEL), None)
    run.recording.save(recording_path(tmp_path, run.name))
    (tmp_path / "runs.jsonl").write_text(json.dumps(run.record.to_dict()) + "\n")
    said: list[str] = []
    pack = tmp_path / "no-pack-needed"
    again = record_runs(tmp_path, [run.record.spec], pack, workers=1, say=said.append)
    assert said == [f"1 of 1 runs already recorded in {tmp_path}"]
    assert again[run.name].recording.steps == STEPS
    assert torch.equal(
        again[run.name].recording.trajectories()[HOOK], run.recording.trajectories()[HOOK]
    )
