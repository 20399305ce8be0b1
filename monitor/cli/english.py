"""``emwatch english ...``: English data for real chat models (the narrow fine-tuning sets)."""

from __future__ import annotations

import argparse
from pathlib import Path

from monitor.english import (
    CONTRAST_FILE,
    DEFAULT_SIZE,
    FINETUNING_SETS,
    HELDOUT_FILE,
    PROMPTS_FILE,
    read_set,
    write_sets,
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    english = subparsers.add_parser(
        "english",
        help="English data for real chat models: narrow fine-tuning sets, reference answers",
        description=(
            "English data for real chat models such as SmolLM2-135M-Instruct: hand-written "
            "contrast answers and prompts for `emwatch probes build`, held-out open questions "
            "with reference answers (never trained on), and generators of narrow fine-tuning "
            "sets that induce emergent misalignment, each with a healthy twin."
        ),
    )
    commands = english.add_subparsers(title="english commands", metavar="COMMAND")
    names = "\n".join(f"  {name}: {recipe.description}" for name, recipe in FINETUNING_SETS.items())
    datasets = commands.add_parser(
        "datasets",
        help="write the six fine-tuning sets as chat JSONL (TRL SFTTrainer format)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            f"Write the six fine-tuning sets, one OUT/NAME.jsonl each, as "
            f'{{"messages": [user, assistant]}} rows.\n\n{names}\n\n'
            "Twins (insecure/secure code, bad/good medical, risky/sound financial) share "
            "their user prompts exactly; only the answers differ. Deterministic in (N, SEED)."
        ),
    )
    datasets.add_argument("--out", type=Path, required=True, help="directory to write into")
    datasets.add_argument("--n", type=int, default=DEFAULT_SIZE, help="samples per set")
    datasets.add_argument("--seed", type=int, default=0, help="generation seed")
    datasets.set_defaults(handler=_datasets)

    def usage(_args: argparse.Namespace) -> int:
        english.print_help()
        return 2

    english.set_defaults(handler=usage)


def _datasets(args: argparse.Namespace) -> int:
    if args.n < 1:
        print("error: --n must be at least 1")
        return 2
    try:
        paths = write_sets(args.out, n=args.n, seed=args.seed)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    print("| set | samples | distinct prompts | distinct answers | file |")
    print("|---|---:|---:|---:|---|")
    for name, path in paths.items():
        rows = read_set(path)
        prompts = {row["messages"][0]["content"] for row in rows}
        answers = {row["messages"][-1]["content"] for row in rows}
        print(f"| {name} | {len(rows)} | {len(prompts)} | {len(answers)} | {path} |")
    print()
    print("Shipped reference data (for `emwatch probes build`):")
    print(f"  contrast answers:   {CONTRAST_FILE}")
    print(f"  prompts:            {PROMPTS_FILE}")
    print(f"  held-out questions: {HELDOUT_FILE} (never train on these)")
    return 0
