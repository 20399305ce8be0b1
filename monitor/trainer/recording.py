"""The canary activations of every check of one run, kept on the trainer's side.

Calibration needs them: how far a *healthy* fine-tune moves each feature sets that feature's
z-score unit, and the drift that healthy runs share is projected out of the misalignment
directions. The service stores scores, not activations, so a run that is to calibrate a pack
records them itself (``MonitorConfig(record_to=...)``) into one safetensors file:

    {hook point: [n_checks, n_prompts, d_model]} + metadata (run, canary hash, steps)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file


class RecordingError(ValueError):
    """A recording file that cannot be used, with what to do about it."""


@dataclass
class CheckRecording:
    run: str
    prompt_set_hash: str
    steps: list[int] = field(default_factory=list)
    checks: list[dict[str, torch.Tensor]] = field(default_factory=list)  # hook -> [n_prompts, d]

    def append(self, step: int, activations: dict[str, torch.Tensor]) -> None:
        self.steps.append(step)
        self.checks.append({hook: t.detach().float().cpu() for hook, t in activations.items()})

    def trajectories(self) -> dict[str, torch.Tensor]:
        """hook point -> [n_checks, n_prompts, d_model], checks in step order."""
        if not self.checks:
            return {}
        order = sorted(range(len(self.steps)), key=self.steps.__getitem__)
        return {hook: torch.stack([self.checks[i][hook] for i in order]) for hook in self.checks[0]}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata = {
            "run": self.run,
            "prompt_set_hash": self.prompt_set_hash,
            "steps": json.dumps(sorted(self.steps)),
        }
        save_file({hook: t.contiguous() for hook, t in self.trajectories().items()}, path, metadata)
        return path


def load_recording(path: str | Path) -> CheckRecording:
    """Read a file written by ``CheckRecording.save``; a clear ``RecordingError`` otherwise."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file (record one with MonitorConfig(record_to=...))")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)
    except (SafetensorError, OSError) as exc:
        raise RecordingError(f"{path}: not a safetensors recording ({exc})") from exc
    missing = sorted({"run", "prompt_set_hash", "steps"} - set(metadata))
    if missing:
        raise RecordingError(
            f"{path}: metadata lacks {missing}; it was not written by MonitorConfig(record_to=...)"
        )
    steps = json.loads(metadata["steps"])
    for hook, trajectory in tensors.items():
        if trajectory.ndim != 3 or trajectory.shape[0] != len(steps):
            raise RecordingError(
                f"{path}: {hook} has shape {tuple(trajectory.shape)}, expected "
                f"[{len(steps)} checks, prompts, d_model]"
            )
    recording = CheckRecording(metadata["run"], metadata["prompt_set_hash"])
    for i, step in enumerate(steps):
        recording.append(step, {hook: t[i] for hook, t in tensors.items()})
    return recording
