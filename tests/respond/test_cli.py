"""``emwatch realign``: the report and model it writes, its exit codes, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.organism.checkpoint import DEFAULT_PACK


def _run(
    model: Path, good: Path, *extra: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    argv = ["realign", "--model", str(model), "--good", str(good), "--pack", str(DEFAULT_PACK)]
    code = main([*argv, *extra])
    return code, capsys.readouterr().out


def test_realign_writes_report_and_model_and_exits_1_when_not_back(
    drifted_dir: Path, trusted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code, printed = _run(
        drifted_dir,
        trusted_file,
        "--budget",
        "2",
        "--eval-samples",
        "2",
        "--out",
        str(out),
        capsys=capsys,
    )
    assert code == 1, printed
    assert "NOT back (budget spent): 2 steps, 32 rows (32 distinct samples)" in printed, printed
    report = json.loads((out / "report.json").read_text())
    assert report["stopped_by"] == "budget" and report["steps"] == 2
    assert [r["step"] for r in report["readings"]] == [0, 1, 2]
    assert report["still_outside"], "a run that ran out of budget names what is still out"
    assert set(report["behaviour"]) == {"baseline", "before", "after"}
    assert report["behaviour"]["before"]["coherent"]["trials"] == 8 * 2  # 8 open questions
    assert "**Not back**" in (out / "report.md").read_text()
    # The checkpoint had no tokenizer: the re-aligned model gets the baseline's.
    assert (out / "model" / "model.safetensors").is_file()
    assert (out / "model" / "tokenizer.json").is_file()


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{not json", "not JSON"),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "must end with the assistant"),
        ('{"text": "hi"}', 'non-empty "messages" list'),
    ],
)
def test_a_malformed_line_is_one_error_naming_it_exit_2_and_nothing_written(
    drifted_dir: Path,
    trusted_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    line: str,
    says: str,
) -> None:
    good_lines = trusted_file.read_text().splitlines()[:4]
    data = tmp_path / "good.jsonl"
    data.write_text("\n".join([*good_lines[:2], line, *good_lines[2:]]) + "\n")
    out = tmp_path / "out"
    code, printed = _run(drifted_dir, data, "--out", str(out), capsys=capsys)
    assert code == 2
    assert printed.splitlines() == [printed.strip()], "one line"
    assert printed.startswith(f"error: {data}:3: ") and says in printed, printed
    assert not out.exists()


def test_an_empty_file_and_a_bad_option_exit_2_before_anything_runs(
    drifted_dir: Path, trusted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    out = tmp_path / "out"
    code, printed = _run(drifted_dir, empty, "--out", str(out), capsys=capsys)
    assert code == 2 and "holds no samples" in printed
    code, printed = _run(
        drifted_dir, trusted_file, "--budget", "0", "--out", str(out), capsys=capsys
    )
    assert code == 2 and "budget must be at least 1" in printed
    assert not out.exists()
