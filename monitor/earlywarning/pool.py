"""Monitored fine-tunes in parallel worker processes, one CPU thread each.

Fine-tunes of a model this small do not use more than one core well, so the benchmark runs
one per core instead. Each worker loads the organism once.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from monitor.earlywarning.runs import RunRecord, RunSpec, ServiceTarget, monitored_finetune

_worker: dict[str, Any] = {}


def _load_organism() -> None:
    import torch

    from monitor.organism import load_organism

    torch.set_num_threads(1)
    _worker["model"], _worker["tokenizer"] = load_organism()


def _run(spec: RunSpec, target: ServiceTarget) -> tuple[dict[str, Any], dict[str, Any]]:
    record = monitored_finetune(spec, _worker["model"], _worker["tokenizer"], target)
    return record.to_dict(), record.activations


def default_workers() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))


def run_all(
    specs: Sequence[RunSpec],
    target: ServiceTarget,
    workers: int,
    on_done: Callable[[RunRecord], None] | None = None,
) -> list[RunRecord]:
    """Every spec's record, in the order of ``specs``."""
    records: dict[int, RunRecord] = {}
    context = multiprocessing.get_context("spawn")  # no forked torch or HTTP state
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_load_organism) as pool:
        futures = {pool.submit(_run, spec, target): i for i, spec in enumerate(specs)}
        for future in as_completed(futures):
            data, activations = future.result()
            record = RunRecord.from_dict(data)
            record.activations = activations
            records[futures[future]] = record
            if on_done is not None:
                on_done(record)
    return [records[i] for i in range(len(specs))]
