"""Recordings of a run's canary activations: the file calibration reads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from monitor.trainer.recording import CheckRecording, RecordingError, load_recording


def recording(steps: list[int]) -> CheckRecording:
    made = CheckRecording("sft-chat", "canaries-abc")
    for step in steps:
        made.append(step, {"model.layers.1": torch.full((3, 4), float(step))})  # [prompts, d]
    return made


def test_round_trip_keeps_every_check_in_step_order(tmp_path: Path) -> None:
    path = recording([0, 20, 10]).save(tmp_path / "deep" / "run.safetensors")
    loaded = load_recording(path)
    assert (loaded.run, loaded.prompt_set_hash, loaded.steps) == (
        "sft-chat",
        "canaries-abc",
        [0, 10, 20],
    )
    (trajectory,) = loaded.trajectories().values()
    assert trajectory.shape == (3, 3, 4)  # [checks, prompts, d_model]
    assert trajectory[:, 0, 0].tolist() == [0.0, 10.0, 20.0]


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"no such file.*record_to"):
        load_recording(tmp_path / "absent.safetensors")


def test_a_file_that_is_not_safetensors_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.safetensors"
    path.write_text("not tensors")
    with pytest.raises(RecordingError, match="not a safetensors recording"):
        load_recording(path)


def test_safetensors_without_recording_metadata_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2, 2)}, path)
    with pytest.raises(
        RecordingError, match=r"metadata lacks \['prompt_set_hash', 'run', 'steps'\]"
    ):
        load_recording(path)


def test_shapes_must_match_the_steps(tmp_path: Path) -> None:
    path = tmp_path / "odd.safetensors"
    metadata = {"run": "r", "prompt_set_hash": "h", "steps": "[0, 5]"}
    save_file({"model.layers.1": torch.zeros(3, 2, 4)}, path, metadata)
    with pytest.raises(RecordingError, match=r"shape \(3, 2, 4\), expected \[2 checks"):
        load_recording(path)
