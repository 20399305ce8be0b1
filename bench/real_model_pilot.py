"""A pilot of the SmolLM2 plan on development seed 99 (no evaluated or calibration run of
``emwatch bench real-model`` uses it): does the held-out misaligned-answer preference rise on a
bad set more than on its healthy twin at the default budget, and what does the shipped pack
say? Prints each run's preference rise per evaluation with a paired t interval over questions,
its alerts, and its z-scores at steps 10, 30 and 60.

    .venv/bin/python bench/real_model_pilot.py insecure-code secure-code [--out DIR]

Resumable: finished runs in DIR/runs.jsonl are read back (docs/real-model.md has the result).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from monitor.earlywarning.real_bench import run_plan
from monitor.earlywarning.real_runs import RealRunRecord, RealRunSpec
from monitor.models.smollm2 import SHIPPED_PACK, fetch_smollm2

DEVELOPMENT_SEED = 99
T_95_17_DF = 2.11  # two-sided 95% t quantile for 18 questions


def describe(record: RealRunRecord) -> None:
    base = record.preference[0].per_question
    print(f"{record.spec.run_name} ({record.seconds:.0f} s), base {statistics.mean(base):+.3f}")
    for point in record.preference[1:]:
        rises = [after - before for after, before in zip(point.per_question, base, strict=True)]
        half = T_95_17_DF * statistics.stdev(rises) / len(rises) ** 0.5
        print(f"  step {point.step}: rise {statistics.mean(rises):+.3f} +- {half:.3f}")
    print("  alerts", [(a["severity"], a["firing_step"], a["feature"]) for a in record.alerts])
    by_step: dict[int, dict[str, float]] = {}
    for score in record.scores:
        by_step.setdefault(score["step"], {})[score["feature"]] = round(score["zscore"], 3)
    for step in (10, 30, 60):
        print(f"  z at step {step}: {by_step.get(step)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="+", help="English fine-tuning sets")
    parser.add_argument("--adapter", default="lora-r8")
    parser.add_argument("--out", type=Path, default=Path(".emwatch/real-pilot"))
    args = parser.parse_args()
    specs = [RealRunSpec(name, DEVELOPMENT_SEED, args.adapter) for name in args.datasets]
    for record in run_plan(specs, fetch_smollm2().directory, SHIPPED_PACK, args.out):
        describe(record)


if __name__ == "__main__":
    main()
