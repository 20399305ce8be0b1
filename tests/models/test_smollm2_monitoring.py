"""SmolLM2 end to end: a small pack built from the shipped English data, then monitored LoRA
steps with TRL's SFTTrainer against a real service (slow: minutes on 2 cores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.core.pack import load_pack
from monitor.core.units import BUILD_UNIT_DETECTOR, UnitKind, pack_unit_kind
from monitor.earlywarning.real_bench import run_plan
from monitor.earlywarning.real_runs import RealRunSpec
from monitor.english import CONTRAST_FILE
from monitor.english.corpus import corpus_rows

LAYERS = [f"model.layers.{i}" for i in (6, 9, 12, 27)]


@pytest.mark.slow
def test_a_small_smollm2_pack_monitors_a_lora_fine_tune(
    smollm2_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [json.loads(line) for line in CONTRAST_FILE.read_text().splitlines()]
    contrast = tmp_path / "contrast.jsonl"
    contrast.write_text("".join(json.dumps(row) + "\n" for row in rows[::3]))
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(row) + "\n" for row in corpus_rows(40)))
    pack_dir = tmp_path / "pack"
    code = main(
        [
            "probes", "build", "--model", str(smollm2_dir), "--name", "smollm2-small",
            "--out", str(pack_dir), "--layers", *LAYERS, "--contrast", str(contrast),
            "--corpus", str(corpus), "--corpus-tokens", "20000", "--sae-expansion", "2",
            "--sae-k", "16", "--sae-steps", "60", "--watch-top-k", "2",
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    pack = load_pack(pack_dir)
    (hook,) = pack.hook_points
    assert hook != "model.layers.27"  # past --max-depth 0.75 of 30 layers: never chosen
    assert pack_unit_kind(pack) in (UnitKind.BUILD, UnitKind.BASELINE_SPREAD)
    assert pack.manifest.hook_points[hook].build_units["direction:contrast_answers"].scale > 0
    assert pack.manifest.detector == BUILD_UNIT_DETECTOR
    report = json.loads((pack_dir / "report" / "report.json").read_text())
    assert (
        report["sae"]["l0"] > 0
        and report["seconds"]["contrast answers: activations at every hook point"] > 0
    )

    spec = RealRunSpec(
        "insecure-code", 0, "lora-r8", steps=4, batch_size=2, check_every=2, eval_every=4,
        n_samples=16, max_length=256, sampled_questions=1,
    )  # fmt: skip
    (record,) = run_plan([spec], smollm2_dir, pack_dir, tmp_path / "runs", say=lambda _m: None)
    assert sorted({p["step"] for p in record.scores}) == [0, 2, 4]
    assert {p["hook_point"] for p in record.scores} == {hook}
    assert [p.step for p in record.preference] == [0, 4]
    assert record.preference[-1].answers[0]["answer"].strip()
