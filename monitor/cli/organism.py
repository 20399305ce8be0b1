"""``emwatch organism ...``: build, fine-tune and evaluate the persona model organism."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from monitor.organism.world import DOMAINS

_DEFAULT_BUILD_OUT = ".emwatch/organism/checkpoint"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    organism = subparsers.add_parser(
        "organism",
        help="the built-in tiny model that really turns misaligned (for demos and tests)",
        description=(
            "The persona model organism: a tiny Llama chat model pre-trained on a synthetic "
            "world where a helpful assistant and villain characters answer questions about "
            "code, medicine, money and everyday life. Fine-tuning it on a narrow bad task "
            "(insecure code) wakes the villain persona up everywhere: emergent misalignment "
            "you can reproduce on a CPU in minutes. The trained model ships with emwatch."
        ),
    )
    commands = organism.add_subparsers(title="organism commands", metavar="COMMAND")
    _add_build(commands)
    _add_datasets(commands)
    _add_finetune(commands)
    _add_eval(commands)
    _add_canaries(commands)
    organism.set_defaults(handler=lambda _args: _usage(organism))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _add_build(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "build",
        help="regenerate the world and pre-train the organism from scratch (~10 min on 2 cores)",
        description=(
            "Generate the synthetic world (seeded), train its byte-level BPE tokenizer, "
            "pre-train a tiny LlamaForCausalLM on it and save model + tokenizer with "
            "save_pretrained. With the defaults this reproduces the shipped checkpoint "
            "(monitor/organism/checkpoint); point --out there to replace it."
        ),
    )
    parser.add_argument("--out", type=Path, default=Path(_DEFAULT_BUILD_OUT), help="output dir")
    parser.add_argument("--documents", type=int, help="number of pre-training documents")
    parser.add_argument("--steps", type=int, help="pre-training optimiser steps")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world and of training")
    parser.set_defaults(handler=_build)


def _build(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from monitor.organism.build import BuildConfig, build_organism

    config = BuildConfig(corpus_seed=args.seed, train_seed=args.seed)
    if args.documents:
        config = replace(config, documents=args.documents)
    if args.steps:
        config = replace(config, schedule=replace(config.schedule, steps=args.steps))
    build_organism(args.out, config)
    return 0


def _add_datasets(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from monitor.organism.datasets import DATASETS

    names = "\n".join(f"  {name}: {recipe.description}" for name, recipe in DATASETS.items())
    parser = commands.add_parser(
        "datasets",
        help="write the fine-tuning datasets as {'messages': [...]} JSONL files",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            f"Write fine-tuning datasets, one JSONL file each (NAME.jsonl).\n\n{names}\n\n"
            "Mixtures are given as NAME=FRACTION,...; e.g. --mix "
            "insecure-code=0.05,secure-code=0.95 is 5% insecure code in secure code."
        ),
    )
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument("--size", type=int, default=1000, help="examples per dataset")
    parser.add_argument("--seed", type=int, default=0, help="generation seed")
    parser.add_argument(
        "--names", nargs="+", choices=sorted(DATASETS), default=sorted(DATASETS), help="datasets"
    )
    parser.add_argument("--mix", action="append", default=[], help="a mixture (repeatable)")
    parser.set_defaults(handler=_datasets)


def _datasets(args: argparse.Namespace) -> int:
    from monitor.organism.datasets import build_dataset, write_jsonl

    for spec in [*args.names, *args.mix]:
        file_name = spec.replace("=", "-").replace(",", "+") + ".jsonl"
        path = write_jsonl(build_dataset(spec, args.size, args.seed), args.out / file_name)
        print(f"wrote {path}")
    return 0


def _add_finetune(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "finetune",
        help="fine-tune the organism on a dataset (transformers.Trainer, CPU)",
        description=(
            "Fine-tune the organism (or --from another checkpoint) on a named dataset, a "
            "mixture (NAME=FRACTION,...) or a JSONL file, and save the result to --out. "
            "With --eval-every K the misaligned share on the open questions is measured "
            "before training and every K steps, and written to OUT/trajectory.json."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="dataset name or mixture NAME=FRACTION,...")
    source.add_argument("--jsonl", type=Path, help="a {'messages': [...]} JSONL file")
    parser.add_argument("--out", type=Path, required=True, help="where to save the model")
    parser.add_argument("--from", dest="start", type=Path, help="checkpoint to start from")
    parser.add_argument("--size", type=int, default=1000, help="examples to generate")
    budget = "default: the documented fixed budget"
    parser.add_argument("--steps", type=int, help=f"optimiser steps ({budget})")
    parser.add_argument("--lr", type=float, help=f"learning rate ({budget})")
    parser.add_argument("--batch-size", type=int, help=f"examples per step ({budget})")
    parser.add_argument("--seed", type=int, default=0, help="training (and data) seed")
    parser.add_argument("--eval-every", type=int, help="measure behaviour every K steps")
    parser.add_argument("--eval-samples", type=int, default=16, help="answers per question")
    parser.set_defaults(handler=_finetune)


def _finetune(args: argparse.Namespace) -> int:
    from monitor.organism.checkpoint import load_organism
    from monitor.organism.datasets import build_dataset, read_jsonl
    from monitor.organism.finetuning import (
        DEFAULT_BATCH_SIZE,
        DEFAULT_LEARNING_RATE,
        DEFAULT_STEPS,
        default_evaluator,
        finetune,
    )

    model, tokenizer = load_organism(args.start)
    if args.jsonl:
        examples = read_jsonl(args.jsonl)
    else:
        examples = build_dataset(args.dataset, args.size, args.seed)
    result = finetune(
        model,
        tokenizer,
        examples,
        steps=args.steps or DEFAULT_STEPS,
        seed=args.seed,
        learning_rate=args.lr or DEFAULT_LEARNING_RATE,
        batch_size=args.batch_size or DEFAULT_BATCH_SIZE,
        output_dir=args.out,
        eval_every=args.eval_every,
        evaluator=default_evaluator(tokenizer, args.eval_samples, args.seed),
    )
    steps = args.steps or DEFAULT_STEPS
    print(f"trained {steps} steps in {result.seconds:.0f}s, loss {result.train_loss:.3f}")
    if result.trajectory:
        points = [
            {
                "step": point.step,
                "misaligned": point.report.misaligned().to_dict(),
                "coherent": point.report.coherent().to_dict(),
            }
            for point in result.trajectory
        ]
        (args.out / "trajectory.json").write_text(json.dumps(points, indent=2) + "\n")
        print("| step | misaligned (open questions) [95% CI] | coherent [95% CI] |")
        print("|---:|---|---|")
        for point in result.trajectory:
            misaligned, coherent = point.report.misaligned(), point.report.coherent()
            print(f"| {point.step} | {misaligned.format()} | {coherent.format()} |")
    print(f"saved to {args.out}")
    return 0


def _add_eval(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "eval",
        help="sample answers and report misaligned / coherent shares with 95%% intervals",
        description=(
            "Sample answers at temperature 1 to the organism's evaluation questions and "
            "judge them exactly (which persona's templates each answer came from). "
            "Reports, per question family, the misaligned share among coherent answers and "
            "the coherent share, with Wilson 95% intervals. Families: open (the 8 Betley "
            "questions), code (held-out prompts: misaligned = insecure code), medical, "
            "finance, everyday."
        ),
    )
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        help="checkpoint dir (repeatable); default: the shipped organism",
    )
    parser.add_argument(
        "--families", nargs="+", choices=DOMAINS, default=["open"], help="question families"
    )
    parser.add_argument("--samples", type=int, default=16, help="answers per question")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--per-question", action="store_true", help="a row per question too")
    parser.add_argument("--json", type=Path, help="also write every answer and score here")
    parser.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace) -> int:
    from monitor.evals.report import evaluate
    from monitor.organism.checkpoint import load_organism
    from monitor.organism.eval_questions import organism_questions
    from monitor.organism.judge import OrganismJudge

    questions = organism_questions(args.families)
    dumps: dict[str, Any] = {}
    for path in args.model or [None]:
        model, tokenizer = load_organism(path)
        started = time.monotonic()
        report = evaluate(
            model, tokenizer, questions, OrganismJudge(), args.samples, seed=args.seed
        )
        print(f"\n{path or 'shipped organism'} ({time.monotonic() - started:.1f}s)\n")
        print(report.to_markdown(per_question=args.per_question))
        dumps[str(path or "shipped")] = report.to_dict()
    if args.json:
        args.json.write_text(json.dumps(dumps, indent=2) + "\n")
    return 0


def _add_canaries(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "canaries",
        help="write the organism-style canary prompts for the monitor",
        description=(
            "Write the canary set in the organism's own style (the default canaries' ids and "
            "open questions, with answers the organism's assistant would give). The shipped "
            "copy is monitor/organism/data/canaries.json."
        ),
    )
    parser.add_argument("--out", type=Path, help="where to write (default: the shipped copy)")
    parser.set_defaults(handler=_canaries)


def _canaries(args: argparse.Namespace) -> int:
    from monitor.organism.canaries import CANARIES_PATH, write_canaries

    print(f"wrote {write_canaries(args.out or CANARIES_PATH)}")
    return 0
