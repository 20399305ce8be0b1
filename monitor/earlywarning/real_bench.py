"""Many monitored fine-tunes of a real model against one service, resumable run by run.

A plan of 40-odd fine-tunes of SmolLM2 takes hours on two cores, so every finished run is
appended to ``runs.jsonl`` at once and a second invocation skips what is there (a run that was
cut off is deleted from the service and run again). One service serves the whole plan; its
SQLite file lies next to the results.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from monitor.earlywarning.real_analysis import summarise
from monitor.earlywarning.real_runs import RealRunRecord, RealRunSpec, run_real
from monitor.earlywarning.runs import ServiceTarget
from monitor.english import FINETUNING_SETS
from monitor.fixtures.local_service import LocalService
from monitor.trainer.client import EmwatchClient

RUNS_FILE = "runs.jsonl"
TOKEN_FILE = "service-token"


def read_records(out: Path) -> list[RealRunRecord]:
    path = out / RUNS_FILE
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    return [RealRunRecord.from_dict(json.loads(line)) for line in lines if line.strip()]


def _token(out: Path) -> str:
    """One admin token per results directory, so a resumed plan reuses its service's data."""
    path = out / TOKEN_FILE
    if not path.is_file():
        path.write_text(
            f"emw_real{secrets.token_hex(4)}_{secrets.token_urlsafe(24).replace('_', '-')}"
        )
    return path.read_text().strip()


def run_plan(
    specs: Sequence[RealRunSpec],
    model_dir: Path,
    pack_dir: Path,
    out: Path,
    say: Callable[[str], None] = print,
) -> list[RealRunRecord]:
    """Every spec's record (finished ones read back, the rest run now), in the order given."""
    out.mkdir(parents=True, exist_ok=True)
    done = {record.spec.run_name: record for record in read_records(out)}
    todo = [spec for spec in specs if spec.run_name not in done]
    say(f"{len(specs)} runs planned, {len(specs) - len(todo)} already done")
    if todo:
        token = _token(out)
        service = LocalService(out / "service", token).start()
        try:
            target = ServiceTarget(service.url, token, pack_dir, out / "spool")
            with EmwatchClient(service.url, token) as client:
                for spec in todo:  # cut off last time: start it again from scratch
                    if client.find_run(spec.run_name) is not None:
                        client.delete_run(spec.run_name)
            for index, spec in enumerate(todo, start=1):
                record = run_real(spec, model_dir, target, out / "recordings")
                with (out / RUNS_FILE).open("a") as handle:
                    handle.write(json.dumps(record.to_dict()) + "\n")
                done[spec.run_name] = record
                say(f"  [{index}/{len(todo)}] {spec.run_name} ({record.seconds:.0f} s)")
        finally:
            service.stop()
    return [done[spec.run_name] for spec in specs]


EVALUATION_SEEDS = (0, 1, 2)
CALIBRATION_SEEDS = (10, 11)  # healthy twins only; no evaluated run uses them


def plan(
    adapters: Sequence[str],
    seeds: Sequence[int] = EVALUATION_SEEDS,
    calibration_seeds: Sequence[int] = CALIBRATION_SEEDS,
    **spec: Any,
) -> tuple[list[RealRunSpec], list[RealRunSpec]]:
    """(evaluated runs: every set and adapter on ``seeds``; calibration runs: the healthy
    twins on ``calibration_seeds``)."""
    overlap = set(seeds) & set(calibration_seeds)
    if overlap:
        raise ValueError(f"seeds {sorted(overlap)} would serve calibration and evaluation")
    evaluated = [
        RealRunSpec(dataset, seed, adapter, **spec)
        for adapter in adapters
        for dataset in FINETUNING_SETS
        for seed in seeds
    ]
    calibration = [
        RealRunSpec(dataset, seed, adapter, **spec)
        for adapter in adapters
        for dataset, recipe in FINETUNING_SETS.items()
        if recipe.side == "good"
        for seed in calibration_seeds
    ]
    return evaluated, calibration


def run_real_bench(
    model_dir: Path,
    pack_dir: Path,
    out: Path,
    evaluated: Sequence[RealRunSpec],
    calibration: Sequence[RealRunSpec],
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run (or resume) both sets of runs and write ``out/summary.json``."""
    started = time.monotonic()
    records = run_plan([*calibration, *evaluated], model_dir, pack_dir, out, say)
    calibration_runs = records[: len(calibration)]
    summary = summarise(records[len(calibration) :], calibration_runs, pack_dir)
    summary["spec"] = asdict(evaluated[0]) if evaluated else {}
    summary["run_seconds"] = sum(r.seconds for r in records)
    summary["seconds_this_invocation"] = round(time.monotonic() - started, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
