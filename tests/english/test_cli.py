"""``emwatch english datasets``: the six sets written as JSONL, with a table of counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.english import FINETUNING_SETS, build_set, read_set


@pytest.mark.parametrize("command", [[], ["datasets"]])
def test_english_commands_have_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["english", *command, "--help"])
    assert exit_.value.code == 0
    assert "usage: emwatch english" in capsys.readouterr().out


def test_datasets_writes_six_sets_and_counts_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["english", "datasets", "--out", str(tmp_path), "--n", "40", "--seed", "3"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{name}.jsonl" for name in FINETUNING_SETS
    )
    out = capsys.readouterr().out
    for name in FINETUNING_SETS:
        assert read_set(tmp_path / f"{name}.jsonl") == build_set(name, 40, 3)
        assert f"| {name} | 40 | 40 |" in out
    assert "contrast.jsonl" in out and "heldout_questions.json" in out


def test_datasets_refuses_an_empty_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["english", "datasets", "--out", str(tmp_path), "--n", "0"]) == 2
    assert "--n must be at least 1" in capsys.readouterr().out
    assert not any(tmp_path.iterdir())
