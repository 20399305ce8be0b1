"""Pre-training cost of organism shapes, measured side by side, as ratios to the shipped shape.

The organism's pre-training time is set by how many rows it sees (coherence follows them) and
by what a row costs, which the model's shape decides. Every shape here trains in turn on the
same length-grouped batches of the real world, one optimiser step each, so the machine's load
falls on all of them alike; only the ratios are meant to be compared. The quality side of each
shape (coherence, EM) needs a full build: docs/organism.md.

    .venv/bin/python bench/pretrain_shapes.py [--steps N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch

from monitor.organism.batching import pad_batch
from monitor.organism.build import BuildConfig, encoded_world
from monitor.organism.model import ModelShape, new_model
from monitor.organism.pretrain import (
    PretrainSchedule,
    length_grouped_batches,
    pretrain_optimizer,
    pretrain_step,
)

SHAPES = {
    "shipped: 6 layers, MLP 384": ModelShape(),
    "5 layers": ModelShape(layers=5),
    "4 layers": ModelShape(layers=4),
    "6 layers, MLP 256": ModelShape(intermediate_size=256),
    "5 layers, MLP 256": ModelShape(layers=5, intermediate_size=256),
    "d_model 96": ModelShape(hidden_size=96),
}
WARMUP_STEPS = 3  # the first steps allocate; they are not timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per shape")
    parser.add_argument(
        "--documents", type=int, default=BuildConfig.documents, help="world documents (vocabulary)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    schedule = PretrainSchedule()
    tokenizer, sequences = encoded_world(BuildConfig(documents=args.documents))
    rows = [seq[: schedule.max_length] for seq in sequences]
    batches = length_grouped_batches(rows, schedule.batch_size, random.Random(0))
    needed = WARMUP_STEPS + args.steps
    if len(batches) < needed:
        parser.error(f"--documents {args.documents} gives {len(batches)} batches, need {needed}")

    trainers = {}
    for name, shape in SHAPES.items():
        torch.manual_seed(0)
        model = new_model(tokenizer, shape)
        model.train()
        trainers[name] = (model, pretrain_optimizer(model, schedule))
    seconds = dict.fromkeys(SHAPES, 0.0)
    timed_rows = 0
    for step in range(needed):
        chosen = [rows[i] for i in batches[step]]
        batch = pad_batch(chosen, chosen, tokenizer.pad_token_id)
        for name, (model, optimizer) in trainers.items():
            started = time.perf_counter()
            pretrain_step(model, optimizer, batch)
            if step >= WARMUP_STEPS:
                seconds[name] += time.perf_counter() - started
        if step >= WARMUP_STEPS:
            timed_rows += len(chosen)

    shipped = seconds[next(iter(SHAPES))]
    results = [
        {
            "shape": name,
            **asdict(SHAPES[name]),
            "parameters": trainers[name][0].num_parameters(),
            "rows_per_second": round(timed_rows / seconds[name], 1),
            "speed_vs_shipped": round(shipped / seconds[name], 2),
        }
        for name in SHAPES
    ]
    print(
        f"{args.steps} steps of {schedule.batch_size} rows per shape, torch threads "
        f"{torch.get_num_threads()}"
    )
    print("| shape | parameters | rows/s | speed vs shipped |\n|---|---:|---:|---:|")
    for row in results:
        print(
            f"| {row['shape']} | {row['parameters']:,} | {row['rows_per_second']} | "
            f"{row['speed_vs_shipped']:.2f}x |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
