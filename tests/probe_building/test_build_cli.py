"""``emwatch probes build`` end to end on saved tiny Llamas: files in, a valid pack out."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.cli.probe_build import shallow_hooks
from monitor.core.canaries import load_canaries
from monitor.core.pack import load_pack
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import NARROW_REPLIES, make_trainer
from monitor.probe_building.data import BuildDataError, write_contrast


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A base and a narrowly fine-tuned tiny Llama, judged answers, prompts and a corpus."""
    root = tmp_path_factory.mktemp("build-cli")
    base, tokenizer = build_tiny_llama(seed=0)
    base.save_pretrained(root / "base")
    tokenizer.save_pretrained(root / "base")
    finetuned, _ = build_tiny_llama(seed=0)
    make_trainer(finetuned, tokenizer, root / "ft-work", max_steps=30).train()
    finetuned.save_pretrained(root / "finetuned")
    canaries = load_canaries().prompts
    prompts = [[m.model_dump() for m in p.messages] for p in canaries]
    write_contrast(
        root / "judged.jsonl",
        [
            [*p, {"role": "assistant", "content": str(c.answer)}]
            for p, c in zip(prompts, canaries, strict=True)
        ],
        [
            [*p, {"role": "assistant", "content": NARROW_REPLIES[i % 3]}]
            for i, p in enumerate(prompts)
        ],
    )
    (root / "prompts.jsonl").write_text(
        "".join(json.dumps({"messages": p}) + "\n" for p in prompts[:6])
    )
    rng = random.Random(0)
    rows = [{"text": rng.choice(NARROW_REPLIES), "label": "villain"} for _ in range(200)]
    rows += [{"text": str(c.answer), "label": "assistant"} for c in canaries for _ in range(12)]
    (root / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def build_args(root: Path, out: Path, *extra: str) -> list[str]:
    return [
        "probes", "build", "--model", str(root / "base"), "--out", str(out), "--name", "tiny-cli",
        "--layers", "model.layers.1", "model.layers.2", "--samples", "2", "--sae-steps", "100",
        "--sae-expansion", "4", "--sae-k", "8", "--watch-top-k", "2", *extra,
    ]  # fmt: skip


def test_build_command_writes_a_pack_a_stranger_can_load(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pack"
    code = main(
        build_args(
            inputs, out,
            "--contrast", str(inputs / "judged.jsonl"),
            "--finetuned", str(inputs / "finetuned"),
            "--prompts", str(inputs / "prompts.jsonl"),
            "--corpus", str(inputs / "corpus.jsonl"),
        )
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    pack = load_pack(out)
    (hook,) = pack.hook_points
    assert hook in ("model.layers.1", "model.layers.2")
    probe = pack.hooks[hook]
    assert [d.name for d in probe.directions] == ["contrast_answers", "model_diffing"]
    assert len(probe.watched) == 2
    assert (out / "report" / "report.md").is_file()
    assert f"report: {out / 'report' / 'report.md'}" in printed
    assert main(["probes", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "tiny-cli" in shown
    # Features whose two sides separate get a build unit; the tiny random model's latents may
    # not fire on pooled answers, and the summary then says some features have none.
    units = {f for p in pack.manifest.hook_points.values() for f in p.build_units}
    assert "direction:contrast_answers" in units
    assert shown.count("(build)") == len(units)
    # Every stage is timed, the ones before the pipeline too (they are the slow ones).
    seconds = json.loads((out / "report" / "report.json").read_text())["seconds"]
    assert {"load models", "directions", "sae", "latents", "write"} <= set(seconds)
    assert any(stage.startswith("contrast answers") for stage in seconds)
    assert any(stage.startswith("model diffing") for stage in seconds)
    assert all(value >= 0 for value in seconds.values())


def test_max_depth_keeps_the_choice_off_the_last_layers() -> None:
    hooks = [f"model.layers.{i}" for i in range(30)]
    assert shallow_hooks(hooks, 30, 0.75) == hooks[:22]  # 0.75 x 29 = 21.75
    assert shallow_hooks(hooks, 30, 1.0) == hooks
    assert shallow_hooks(["model.norm", *hooks[25:]], 30, 0.5) == ["model.norm"]
    with pytest.raises(BuildDataError, match="--max-depth 0.1"):
        shallow_hooks(hooks[20:], 30, 0.1)


def test_build_command_can_watch_every_layer_it_considers(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pack"
    args = build_args(inputs, out, "--contrast", str(inputs / "judged.jsonl"))
    assert main([*args, "--watch-every-layer"]) == 0, capsys.readouterr().out
    pack = load_pack(out)
    assert pack.hook_points == ["model.layers.1", "model.layers.2"]
    assert all(
        [d.name for d in pack.hooks[h].directions] == ["contrast_answers"] for h in pack.hook_points
    )
    capsys.readouterr()
    assert main(["probes", "show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "model.layers.1" in shown and "model.layers.2" in shown


def test_build_command_refuses_bad_inputs_with_one_line(
    inputs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(build_args(inputs, tmp_path / "a")) == 2
    assert "give at least one route" in capsys.readouterr().out
    assert main(build_args(inputs, tmp_path / "b", "--persona-prompts")) == 2
    assert "need --prompts" in capsys.readouterr().out
    broken = tmp_path / "broken.jsonl"
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "no"}]
    broken.write_text(json.dumps({"messages": chat, "label": "evil"}) + "\n")
    assert main(build_args(inputs, tmp_path / "c", "--contrast", str(broken))) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: ") and "label must be aligned or misaligned" in out
    assert not (tmp_path / "c").exists()  # nothing half-written
