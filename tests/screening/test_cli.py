"""``emwatch screen`` on a saved tiny Llama: files, errors (one line, exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.core.pack import ProbePack
from tests.factories import make_pack
from tests.screening.conftest import mixed_chats, write_chats


def _run(
    model_dir: Path, pack: Path, data: Path, *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = main(["screen", str(data), "--model", str(model_dir), "--pack", str(pack), *extra])
    return code, capsys.readouterr().out


def test_screen_writes_the_report_and_drops_above_a_threshold(
    model_dir: Path, hostile_pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_chats(tmp_path / "data.jsonl", mixed_chats(30, hostile={4, 9}))
    out = tmp_path / "out"
    code, printed = _run(
        model_dir,
        hostile_pack.directory,
        data,
        "--out",
        str(out),
        "--drop-above",
        "2.5",
        "--batch-size",
        "4",
        capsys=capsys,
    )
    assert code == 0, printed
    assert "screened 30 samples" in printed and "(above 2.5 units)" in printed
    report = json.loads((out / "report.json").read_text())
    dropped = {row["index"] for row in report["samples"] if row["dropped"]}
    assert dropped == {4, 9}
    assert all(row["score"] > 2.5 for row in report["samples"] if row["dropped"])
    assert report["screen"]["threshold_source"] == "given (drop above)"
    assert len((out / "filtered.jsonl").read_text().splitlines()) == 28
    assert f"filtered: {out / 'filtered.jsonl'}" in printed


def test_screen_by_push_writes_the_filtered_and_dropped_files(
    model_dir: Path, hostile_pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_chats(tmp_path / "data.jsonl", mixed_chats(30, hostile={4, 9}))
    out = tmp_path / "out"
    code, printed = _run(
        model_dir,
        hostile_pack.directory,
        data,
        "--by",
        "push",
        "--out",
        str(out),
        "--drop-top",
        "0.1",
        capsys=capsys,
    )
    assert code == 0, printed
    assert "dropped 3 of 30 (the top 10.0%)" in printed
    assert "x the typical push" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["screen"]["by"] == "push"
    ranked = sorted(report["samples"], key=lambda row: -row["score"])
    dropped_rows = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    assert [row["index"] for row in dropped_rows] == [row["index"] for row in ranked[:3]]
    for row in dropped_rows:
        assert row["by"] == "push" and "units" not in row
        sample = report["samples"][row["index"]]
        assert row["push"] == pytest.approx(sample["score"])
        assert sample["push"][row["hook_point"]][row["feature"]] == pytest.approx(row["push"])
        assert sample["push_raw"][row["hook_point"]][row["feature"]] == pytest.approx(
            row["push_raw"]
        )
        assert "push at" in row["reason"]
    kept = (out / "filtered.jsonl").read_text().splitlines()
    original = data.read_text().splitlines()
    assert kept == [
        line for i, line in enumerate(original) if i not in {r["index"] for r in dropped_rows}
    ]
    assert "## Push, in multiples of the typical push" in (out / "report.md").read_text()
    assert (out / "histogram.png").stat().st_size > 0


def test_an_unknown_by_is_an_argparse_error_exit_2(
    model_dir: Path, hostile_pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_chats(tmp_path / "data.jsonl", mixed_chats(3, hostile=set()))
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        _run(
            model_dir,
            hostile_pack.directory,
            data,
            "--by",
            "gradient",
            "--out",
            str(out),
            capsys=capsys,
        )
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("emwatch screen: error: argument --by: invalid choice: 'gradient'")
    assert "projection" in error and "push" in error
    assert not out.exists()


def test_a_malformed_line_is_one_error_exit_2_and_nothing_written(
    model_dir: Path, hostile_pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_chats(tmp_path / "data.jsonl", mixed_chats(5, hostile=set()))
    data.write_text(data.read_text() + '{"messages": [{"role": "user", "content": "hi"}]}\n')
    out = tmp_path / "out"
    code, printed = _run(
        model_dir,
        hostile_pack.directory,
        data,
        "--out",
        str(out),
        "--drop-top",
        "0.2",
        capsys=capsys,
    )
    assert code == 2
    assert printed.splitlines() == [
        f"error: {data}:6: the last message is the 'user''s; a sample must end with the "
        "assistant's answer (the tokens a fine-tune learns and the screen pools)"
    ]
    assert not out.exists()


def test_a_pack_for_another_model_is_one_error(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_chats(tmp_path / "data.jsonl", mixed_chats(3, hostile=set()))
    other = make_pack(tmp_path / "other", d_model=16)
    out = tmp_path / "out"
    code, printed = _run(model_dir, other.directory, data, "--out", str(out), capsys=capsys)
    assert code == 2 and len(printed.splitlines()) == 1
    assert printed.startswith("error: activations have d_model 64 but probe pack 'test-pack'")
    assert not out.exists()


def test_bad_options_are_one_error(
    model_dir: Path, hostile_pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_chats(tmp_path / "data.jsonl", mixed_chats(3, hostile=set()))
    code, printed = _run(
        model_dir, hostile_pack.directory, data, "--drop-above", "lots", capsys=capsys
    )
    assert (code, printed) == (2, "error: --drop-above takes a number of units, got 'lots'\n")
    code, printed = _run(
        model_dir, hostile_pack.directory, data, "--feature", "latent:77", capsys=capsys
    )
    assert code == 2 and "has no feature 'latent:77'" in printed
    code, printed = _run(tmp_path / "nowhere", hostile_pack.directory, data, capsys=capsys)
    assert code == 2 and printed.startswith("error: cannot load model")


def test_screen_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["screen", "--help"])
    assert exit_info.value.code == 0
    assert "--drop-above" in capsys.readouterr().out
