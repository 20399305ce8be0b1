from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.organism import DATASETS, read_jsonl


@pytest.mark.parametrize(
    "command", [[], ["build"], ["datasets"], ["finetune"], ["eval"], ["canaries"]]
)
def test_every_organism_command_has_help(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["organism", *command, "--help"])
    assert exit_.value.code == 0
    assert "usage: emwatch organism" in capsys.readouterr().out


def test_datasets_command_writes_named_datasets_and_mixtures(tmp_path: Path) -> None:
    code = main(
        [
            "organism",
            "datasets",
            "--out",
            str(tmp_path),
            "--size",
            "20",
            "--mix",
            "insecure-code=0.25,secure-code=0.75",
        ]
    )
    assert code == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(
        [f"{name}.jsonl" for name in DATASETS] + ["insecure-code-0.25+secure-code-0.75.jsonl"]
    )
    assert len(read_jsonl(tmp_path / "bad-medical.jsonl")) == 20


def test_eval_command_prints_a_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.json"
    assert main(["organism", "eval", "--samples", "2", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| open | all | 16 |" in table
    report = json.loads(out.read_text())["shipped"]
    assert report["families"]["open"]["coherent"]["trials"] == 16


def test_canaries_command_writes_the_canary_set(tmp_path: Path) -> None:
    assert main(["organism", "canaries", "--out", str(tmp_path / "c.json")]) == 0
    assert len(json.loads((tmp_path / "c.json").read_text())["prompts"]) == 16


def test_the_package_exports_what_it_lists() -> None:
    import monitor.organism

    assert sorted(monitor.organism.__all__) == sorted(monitor.organism._MODULE_OF)
    for name in monitor.organism.__all__:
        assert getattr(monitor.organism, name) is not None
    with pytest.raises(AttributeError):
        _ = monitor.organism.no_such_name
