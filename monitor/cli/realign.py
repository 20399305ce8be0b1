"""``emwatch realign``: after an alert, re-align a rolled-back checkpoint on trusted data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(".emwatch/realign")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from monitor.respond.realign import DEFAULT_BUDGET, DEFAULT_WITHIN

    parser = subparsers.add_parser(
        "realign",
        help="after an alert: fine-tune a checkpoint on trusted data until the probes are back",
        description=(
            "Fine-tune CHECKPOINT on trusted chat JSONL (the last message of each line is the "
            "assistant's answer) with the pack's probes read after every step, and stop at the "
            "first step where every watched feature is back within --within units of the "
            "baseline model (the model the pack was built for), or after --budget steps. The "
            "z-scores are the service's own (same capture, scoring, signs and units), computed "
            "in process. Writes report.md, report.json and the re-aligned model (model/) to "
            "--out. On the persona organism it also measures the open-question misaligned "
            "share of the baseline, the checkpoint and the result. Exit status: 0 back, 1 not "
            "back within the budget, 2 an error (nothing written)."
        ),
        epilog=(
            "example: emwatch organism datasets --names secure-code good-medical --size 60 "
            "--out good && cat good/*.jsonl > good.jsonl && emwatch realign --model "
            "run/checkpoint-7 --good good.jsonl --pack monitor/organism/pack --out realigned"
        ),
    )
    parser.add_argument("--model", required=True, help="the checkpoint to re-align (directory)")
    parser.add_argument(
        "--good", required=True, type=Path, help='trusted chat JSONL: {"messages": [...]} a line'
    )
    parser.add_argument("--pack", required=True, type=Path, help="probe pack directory")
    parser.add_argument(
        "--budget", type=int, default=DEFAULT_BUDGET, help=f"most steps (default {DEFAULT_BUDGET})"
    )
    parser.add_argument(
        "--within",
        type=float,
        default=DEFAULT_WITHIN,
        metavar="UNITS",
        help="stop when every feature is within this many pack units of the baseline "
        f"(default {DEFAULT_WITHIN:g}: one calibrated unit, the largest healthy rise)",
    )
    parser.add_argument(
        "--two-sided",
        action="store_true",
        help="also require no feature further than --within on the aligned side",
    )
    parser.add_argument(
        "--baseline",
        help="the model the pack's z-scores are measured from (default: the pack's model; "
        "the shipped organism for the organism's pack)",
    )
    parser.add_argument(
        "--canaries", type=Path, help="canary set of the monitored run (default: the pack's)"
    )
    parser.add_argument("--check-every", type=int, default=1, help="steps between readings")
    parser.add_argument("--lr", type=float, help="learning rate (default 3e-4)")
    parser.add_argument("--batch-size", type=int, help="samples per step (default 16)")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument(
        "--eval-samples",
        type=int,
        default=50,
        help="organism only: answers per open question for the behavioural share (0: skip)",
    )
    parser.add_argument(
        "--out", type=Path, help=f"directory for the report and model (default {DEFAULT_OUT}/NAME)"
    )
    parser.set_defaults(handler=_realign)


def _realign(args: argparse.Namespace) -> int:
    from monitor.core.pack import ProbePackError, load_pack
    from monitor.organism.finetuning import DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE
    from monitor.respond import (
        RealignConfig,
        RealignError,
        StoppedBy,
        read_trusted,
        realign,
        write_report,
    )
    from monitor.respond.pack_defaults import (
        default_baseline,
        default_canaries,
        is_organism_pack,
        organism_evaluator,
    )

    try:
        # Everything that can fail on the user's input fails here, before anything trains.
        config = RealignConfig(
            budget=args.budget,
            within=args.within,
            two_sided=args.two_sided,
            check_every=args.check_every,
            learning_rate=DEFAULT_LEARNING_RATE if args.lr is None else args.lr,
            batch_size=DEFAULT_BATCH_SIZE if args.batch_size is None else args.batch_size,
            seed=args.seed,
        )
        examples = read_trusted(args.good)
        pack = load_pack(args.pack)
        canaries = default_canaries(pack, args.canaries)
        baseline_name = args.baseline or default_baseline(pack)
        baseline, baseline_tokenizer = _load(baseline_name, "baseline")
        model, tokenizer = _load(args.model, "model", fallback_tokenizer=baseline_tokenizer)
        evaluator = (
            organism_evaluator(tokenizer, args.eval_samples, args.seed)
            if is_organism_pack(pack) and args.eval_samples > 0
            else None
        )
        result = realign(
            model, tokenizer, examples, pack, baseline, canaries, config, evaluator=evaluator
        )
    except (RealignError, ProbePackError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    out = args.out or DEFAULT_OUT / Path(args.model).name
    files = write_report(
        result,
        pack,
        tokenizer,
        out,
        model=str(args.model),
        data=str(args.good),
        baseline=baseline_name,
    )
    first, last = result.readings[0], result.readings[-1]
    verdict = {
        StoppedBy.PROBES: "back",
        StoppedBy.ALREADY_BACK: "already back",
        StoppedBy.BUDGET: "NOT back (budget spent)",
    }[result.stopped_by]
    print(
        f"{verdict}: {result.steps} steps, {result.samples_seen} rows "
        f"({result.distinct_samples} distinct samples) in {result.seconds:.1f}s; max z "
        f"{first.towards_persona()[1]:+.2f} -> {last.towards_persona()[1]:+.2f} "
        f"(within {config.within:g})"
    )
    for stage, report in result.behaviour.items():
        print(f"  {stage}: misaligned {report.misaligned().format()}")
    for name, path in files.items():
        print(f"{name}: {path}")
    return 0 if result.back else 1


def _load(name: str, role: str, fallback_tokenizer: Any = None) -> tuple[Any, Any]:
    """A causal LM in float32 and its tokenizer; a Trainer checkpoint without a tokenizer
    (``save_on`` saves weights only unless the Trainer has one) borrows the baseline's."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from monitor.respond import RealignError

    try:
        model: Any = AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise RealignError(f"cannot load the {role} {name!r}: {exc}") from exc
    try:
        tokenizer: Any = AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as exc:
        if fallback_tokenizer is None:
            raise RealignError(f"cannot load the {role}'s tokenizer {name!r}: {exc}") from exc
        tokenizer = fallback_tokenizer
    model.train(False)
    return model, tokenizer
