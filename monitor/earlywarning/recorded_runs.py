"""Monitored fine-tunes that keep their canary activations on disk, resumably.

A protocol that judges every run several ways (each held-out domain calibrates its own copy of
the pack) needs each fine-tune once, with its activations, and then only replays. The records
go to ``OUT/runs.jsonl`` as each run finishes and the activations to
``OUT/recordings/RUN.safetensors``; running again with the same ``OUT`` skips finished runs, so
hours of fine-tuning survive an interruption.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from monitor.earlywarning import analysis
from monitor.earlywarning.pool import run_all
from monitor.earlywarning.runs import RunRecord, RunSpec, ServiceTarget
from monitor.fixtures.local_service import LocalService
from monitor.trainer.recording import CheckRecording, load_recording


@dataclass(frozen=True)
class RecordedRun:
    record: RunRecord  # behaviour at every eval; the recording service's own alerts
    recording: CheckRecording  # every check's canary activations

    @property
    def name(self) -> str:
        return self.record.spec.run_name


def record_runs(
    out: Path,
    specs: Sequence[RunSpec],
    pack_dir: Path,
    workers: int,
    say: Callable[[str], None] = print,
) -> dict[str, RecordedRun]:
    """Every spec fine-tuned once (unless ``out`` already holds it), by run name."""
    out.mkdir(parents=True, exist_ok=True)
    done = finished_runs(out)
    todo = [replace(s, record_activations=True) for s in specs if s.run_name not in done]
    say(f"{len(specs) - len(todo)} of {len(specs)} runs already recorded in {out}")
    if todo:
        _fine_tune(out, todo, pack_dir, workers, say)
    runs = finished_runs(out)
    return {spec.run_name: runs[spec.run_name] for spec in specs}


def finished_runs(out: Path) -> dict[str, RecordedRun]:
    """The runs in ``out`` whose record and recording were both written."""
    index = out / "runs.jsonl"
    if not index.is_file():
        return {}
    runs: dict[str, RecordedRun] = {}
    for line in index.read_text().splitlines():
        record = RunRecord.from_dict(json.loads(line))
        path = recording_path(out, record.spec.run_name)
        if path.is_file():
            runs[record.spec.run_name] = RecordedRun(record, load_recording(path))
    return runs


def recording_path(out: Path, run_name: str) -> Path:
    return out / "recordings" / f"{run_name}.safetensors"


def _fine_tune(
    out: Path, specs: Sequence[RunSpec], pack_dir: Path, workers: int, say: Callable[[str], None]
) -> None:
    token = f"emw_bench{secrets.token_hex(4)}_{secrets.token_urlsafe(24).replace('_', '-')}"
    service = LocalService(out / "service", token).start()
    # monitored_finetune records next to the spool: out/recordings/RUN.safetensors.
    target = ServiceTarget(service.url, token, pack_dir, out / "spool")
    finished = 0

    def keep(record: RunRecord) -> None:
        nonlocal finished
        finished += 1
        with (out / "runs.jsonl").open("a") as index:
            index.write(json.dumps(record.to_dict()) + "\n")
        onset = analysis.onset_step(record)
        say(
            f"  [{finished}/{len(specs)}] {record.spec.run_name:<26} onset "
            f"{'-' if onset is None else onset:>3}  ({record.seconds:.0f} s)"
        )

    try:
        run_all(specs, target, workers, keep)
    finally:
        service.stop()
