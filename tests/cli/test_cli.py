from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.core.wire import encode_check
from monitor.trainer.client import EmwatchClient
from monitor.trainer.spool import Spool
from tests.factories import HOOKS, direction_vector, make_check, make_pack
from tests.servers import ADMIN_TOKEN, ServiceProcess, running_service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with running_service(tmp_path_factory.mktemp("cli-service")) as process:
        yield process


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli-pack") / "pack"
    make_pack(directory, name="cli-pack")
    return directory


def _service_args(service: ServiceProcess) -> list[str]:
    return ["--url", service.url, "--token", ADMIN_TOKEN]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["runs"],
        ["alerts"],
        ["probes"],
        ["probes", "validate"],
        ["probes", "register"],
        ["spool", "replay"],
    ],
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: emwatch" in text and len(text.splitlines()) > 4


def test_probes_validate(
    pack_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probes", "validate", str(pack_dir)]) == 0
    out = capsys.readouterr().out
    assert "probe pack cli-pack" in out and "latent 5" in out and out.strip().endswith("valid")
    assert main(["probes", "validate", str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().out


def test_register_runs_and_alerts(
    service: ServiceProcess, pack_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probes", "register", str(pack_dir), *_service_args(service)]) == 0
    assert "registered cli-pack" in capsys.readouterr().out
    with EmwatchClient(service.url, ADMIN_TOKEN) as client:
        client.create_run({"name": "cli-run", "probe_pack": "cli-pack"})
        v = direction_vector(0)
        for step in range(0, 80, 10):
            shift = {HOOKS[0]: (step / 10) * 3.0 * v / v.norm()}
            client.send_check("cli-run", encode_check(make_check("cli-run", step, shift=shift)))
    assert main(["runs", *_service_args(service)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "RUN",
        "STATUS",
        "PROBE",
        "PACK",
        "CHECKS",
        "LAST",
        "STEP",
        "FIRING",
    ]
    row = next(line.split() for line in table if line.startswith("cli-run"))
    assert row[:5] == ["cli-run", "running", "cli-pack", "8", "70"] and int(row[5]) > 0
    assert main(["alerts", "cli-run", "--state", "firing", "--json", *_service_args(service)]) == 0
    alerts = json.loads(capsys.readouterr().out)
    assert alerts and all(a["state"] == "firing" for a in alerts)
    assert main(["alerts", "ghost", *_service_args(service)]) == 1
    assert "no run named 'ghost'" in capsys.readouterr().out


def test_spool_replay(
    service: ServiceProcess, pack_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with EmwatchClient(service.url, ADMIN_TOKEN) as client:
        client.register_pack(pack_dir)
        client.create_run({"name": "spooled", "probe_pack": "cli-pack"})
    spool = Spool(tmp_path, "spooled")
    for step in (0, 10, 20):
        spool.put(step, encode_check(make_check("spooled", step)))
    assert (
        main(
            [
                "spool",
                "replay",
                "spooled",
                "--spool-dir",
                str(tmp_path),
                "--finish",
                *_service_args(service),
            ]
        )
        == 0
    )
    assert "replayed 3 checks" in capsys.readouterr().out
    assert spool.steps() == []
    with EmwatchClient(service.url, ADMIN_TOKEN) as client:
        run = client.get_run("spooled")
    assert (run["n_checks"], run["status"]) == (3, "finished")


def test_service_unreachable_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "--url", "http://127.0.0.1:9", "--token", ADMIN_TOKEN]) == 1
    assert "unreachable" in capsys.readouterr().out
