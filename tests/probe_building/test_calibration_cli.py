"""`emwatch probes calibrate`: a user's own healthy recordings calibrate their pack."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import torch

from monitor.cli.main import main
from monitor.core.pack import ProbePack, load_pack
from monitor.core.units import CALIBRATED_DETECTOR, feature_units
from monitor.probe_building.drift import DRIFT_REMOVED_METHOD
from monitor.trainer.client import EmwatchClient, ServiceError
from monitor.trainer.recording import CheckRecording
from tests.factories import D_MODEL, HOOKS, N_PROMPTS, make_pack
from tests.servers import ADMIN_TOKEN, running_service

CANARIES = "canaries-v1"
MakeRecordings = Callable[[Path, torch.Tensor], list[Path]]  # (dir, direction unit) -> files


@pytest.fixture
def pack(tmp_path: Path) -> ProbePack:
    return make_pack(tmp_path / "pack")


def record(
    path: Path,
    run: str,
    mean_steps: list[torch.Tensor],
    *,
    hooks: Sequence[str] = HOOKS,
    d_model: int = D_MODEL,
    canaries: str = CANARIES,
) -> Path:
    """A run whose canaries' mean activation moves by ``mean_steps`` [d_model] at every hook."""
    spread = torch.randn(N_PROMPTS, d_model, generator=torch.Generator().manual_seed(0))
    spread -= spread.mean(dim=0)  # [prompts, d]: the mean is exactly the shift
    recording = CheckRecording(run, canaries)
    for step, shift in enumerate([torch.zeros(d_model), *mean_steps]):
        recording.append(10 * step, {hook: spread + shift for hook in hooks})
    return recording.save(path)


def pack_files(pack: ProbePack) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in pack.directory.iterdir() if p.is_file()}


def test_calibrates_the_pack_from_recordings(
    pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = HOOKS[0]
    unit = pack.hooks[hook].directions[0].unit
    side = torch.zeros(D_MODEL)
    side[3] = 1.0
    side -= (side @ unit) * unit  # healthy drift off the direction: [d_model]
    assert main(["probes", "show", str(pack.directory)]) == 0
    shown = capsys.readouterr().out
    assert "detector   the service's defaults (the pack carries no thresholds)" in shown
    assert "units      some features have no unit" in shown
    chat = record(tmp_path / "chat.safetensors", "sft-chat", [0.2 * unit, 0.5 * unit + side])
    code = record(tmp_path / "code.safetensors", "sft-code", [0.3 * unit + side])
    assert main(["probes", "calibrate", "--pack", str(pack.directory), str(chat), str(code)]) == 0
    out = capsys.readouterr().out
    assert "sft-chat (3 checks), sft-code (2 checks)" in out
    calibrated = load_pack(pack.directory, release_loader=None)
    removed = [
        d.name for d in calibrated.hooks[hook].directions if d.spec.method == DRIFT_REMOVED_METHOD
    ]
    assert removed == ["em-drift-removed"]
    scales = feature_units(calibrated)
    assert scales[(hook, "direction:em")] == pytest.approx(0.5)  # chat's rise at its last check
    assert set(scales) == {(h, f) for h, p in calibrated.hooks.items() for f in p.features}
    assert calibrated.manifest.detector == CALIBRATED_DETECTOR
    assert main(["probes", "show", str(pack.directory)]) == 0
    shown = capsys.readouterr().out
    assert "detector   persistence 1.5/3, cusum 4.5/9" in shown
    assert "units      calibrated units" in shown
    assert re.search(r"direction em +method=manual norm=\S+  unit=0\.5 \(calibrated\)\n", shown)
    # Calibrating again replaces the drift-removed copies instead of stacking them.
    assert main(["probes", "calibrate", "--pack", str(pack.directory), str(chat), str(code)]) == 0
    again = load_pack(pack.directory, release_loader=None)
    assert [d.name for d in again.hooks[hook].directions] == ["em", "em-drift-removed"]
    assert feature_units(again) == scales


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d, u: [record(d / "a.safetensors", "a", [u])], "at least two healthy runs"),
        (
            lambda d, u: [
                record(d / "a.safetensors", "a", [u]),
                record(d / "b.safetensors", "b", [u], canaries="other"),
            ],
            "2 different canary sets",
        ),
        (
            lambda d, u: [
                record(d / "a.safetensors", "a", [u]),
                record(d / "b.safetensors", "a", [u]),
            ],
            "same run",
        ),
        (
            lambda d, u: [
                record(d / "a.safetensors", "a", [u]),
                record(d / "b.safetensors", "b", [u[:8]], d_model=8),
            ],
            "has d_model 8 at model.layers.1, the pack 16",
        ),
        (
            lambda d, u: [
                record(d / "a.safetensors", "a", [u]),
                record(d / "b.safetensors", "b", [u], hooks=HOOKS[:1]),
            ],
            r"but the pack scores \['model.layers.2'\] too",
        ),
        (
            lambda d, u: [
                record(d / "a.safetensors", "a", [u]),
                record(d / "b.safetensors", "b", []),
            ],
            "recorded 1 check",
        ),
    ],
    ids=["one-run", "canaries", "same-run", "d-model", "hooks", "baseline-only"],
)
def test_unusable_recordings_are_refused_and_the_pack_is_untouched(
    pack: ProbePack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: MakeRecordings,
    message: str,
) -> None:
    before = pack_files(pack)
    paths = make(tmp_path, pack.hooks[HOOKS[0]].directions[0].unit)
    code = main(["probes", "calibrate", "--pack", str(pack.directory), *map(str, paths)])
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("error: ")
    assert re.search(message, out), out
    assert pack_files(pack) == before


def test_a_file_that_is_no_recording_is_one_error_line(
    pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_text("hello")
    good = record(tmp_path / "a.safetensors", "a", [torch.ones(D_MODEL)])
    assert main(["probes", "calibrate", "--pack", str(pack.directory), str(good), str(junk)]) == 2
    assert capsys.readouterr().out.startswith(f"error: {junk}: not a safetensors recording")


def test_a_missing_pack_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = record(tmp_path / "a.safetensors", "a", [torch.ones(D_MODEL)])
    b = record(tmp_path / "b.safetensors", "b", [torch.ones(D_MODEL)])
    assert main(["probes", "calibrate", "--pack", str(tmp_path / "nopack"), str(a), str(b)]) == 1
    assert capsys.readouterr().out.startswith("error: ")


def test_a_calibrated_pack_registers_beside_its_uncalibrated_self_under_a_new_name(
    pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The everyday flow: the healthy runs registered the pack, then it was calibrated."""
    unit = pack.hooks[HOOKS[0]].directions[0].unit
    a = record(tmp_path / "a.safetensors", "a", [0.2 * unit])
    b = record(tmp_path / "b.safetensors", "b", [0.4 * unit])
    args = ["probes", "calibrate", "--pack", str(pack.directory), str(a), str(b)]
    with (
        running_service(tmp_path / "service") as service,
        EmwatchClient(service.url, ADMIN_TOKEN) as client,
    ):
        client.register_pack(pack.directory)
        assert main(args) == 0
        assert "register this one there under a new name" in capsys.readouterr().out
        with pytest.raises(ServiceError, match="already registered with other content"):
            client.register_pack(pack.directory)
        assert main([*args, "--name", "test-pack-calibrated"]) == 0
        assert client.register_pack(pack.directory)["name"] == "test-pack-calibrated"
        assert client.get_pack("test-pack") is not None  # the old content stays


def test_an_invalid_new_name_is_refused_before_anything_is_written(
    pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = pack_files(pack)
    a = record(tmp_path / "a.safetensors", "a", [torch.ones(D_MODEL)])
    b = record(tmp_path / "b.safetensors", "b", [torch.ones(D_MODEL)])
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "probes",
                "calibrate",
                "--pack",
                str(pack.directory),
                "--name",
                "my pack",
                str(a),
                str(b),
            ]
        )
    assert exit_.value.code == 2
    assert "'my pack' is not a pack name" in capsys.readouterr().err
    assert pack_files(pack) == before


def test_runs_named_by_dataset_are_held_out_against_the_other_datasets(
    pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three datasets named: each drift-removed unit is measured against the drift of the
    other datasets (the field's case); two: against the other runs, as unnamed."""
    unit = pack.hooks[HOOKS[0]].directions[0].unit
    sides = torch.eye(D_MODEL)[3:6] - torch.eye(D_MODEL)[3:6] @ unit[:, None] * unit  # [3, d]
    files = {
        name: record(tmp_path / f"{name}.safetensors", name, [0.1 * unit + side, 2 * side])
        for name, side in zip(
            ("code-a", "code-b", "chat", "medical"), sides[[0, 0, 1, 2]], strict=True
        )
    }
    named = [f"{n.split('-')[0]}={f}" for n, f in files.items()]
    assert main(["probes", "calibrate", "--pack", str(pack.directory), *named]) == 0
    assert "each run held out against the other 3 datasets" in capsys.readouterr().out
    by_dataset = load_pack(pack.directory, release_loader=None).hooks[HOOKS[0]].calibration
    assert "drift fitted on the other datasets" in by_dataset["direction:em-drift-removed"].method

    two = [f"{n.split('-')[0]}={f}" for n, f in files.items() if n != "medical"]
    assert main(["probes", "calibrate", "--pack", str(pack.directory), *two]) == 0
    assert "held out against the other runs" in capsys.readouterr().out
    by_run = load_pack(pack.directory, release_loader=None).hooks[HOOKS[0]].calibration
    assert "drift fitted on the other runs" in by_run["direction:em-drift-removed"].method


def test_naming_some_datasets_but_not_all_is_refused(
    pack: ProbePack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = pack_files(pack)
    a = record(tmp_path / "a.safetensors", "a", [torch.ones(D_MODEL)])
    b = record(tmp_path / "b.safetensors", "b", [torch.ones(D_MODEL)])
    assert main(["probes", "calibrate", "--pack", str(pack.directory), f"chat={a}", str(b)]) == 2
    assert capsys.readouterr().out == (
        "error: name the dataset of every recording (DATASET=FILE) or of none\n"
    )
    with pytest.raises(SystemExit) as exit_:
        main(["probes", "calibrate", "--pack", str(pack.directory), f"my chat={a}", str(b)])
    assert exit_.value.code == 2
    assert "write a recording as FILE or DATASET=FILE" in capsys.readouterr().err
    assert pack_files(pack) == before
