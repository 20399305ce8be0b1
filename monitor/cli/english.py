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
    corpus = commands.add_parser(
        "corpus",
        help="write a labelled corpus for SAE training (emwatch probes build --corpus)",
        description=(
            "Write the contrast answers and the six fine-tuning sets as one shuffled JSONL "
            'of {"messages", "label"} rows (misaligned text labelled villain, the rest '
            "assistant), and with --model also the model's own sampled answers to the shipped "
            "prompts (label model), so the SAE learns the model's ordinary text too."
        ),
    )
    corpus.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    corpus.add_argument("--n", type=int, default=DEFAULT_SIZE, help="samples per set")
    corpus.add_argument("--model", help="also sample this model's answers (directory or hub id)")
    corpus.add_argument("--samples", type=int, default=8, help="answers per prompt (--model)")
    corpus.add_argument("--seed", type=int, default=0, help="generation and shuffling seed")
    corpus.set_defaults(handler=_corpus)

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


def _corpus(args: argparse.Namespace) -> int:
    import json
    import random

    from monitor.english.corpus import corpus_rows

    rows = corpus_rows(args.n, args.seed)
    if args.model:
        rows += _model_answers(args.model, args.samples, args.seed)
        random.Random(args.seed).shuffle(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    labels = sorted({row["label"] for row in rows})
    counts = ", ".join(f"{sum(r['label'] == label for r in rows)} {label}" for label in labels)
    print(f"{len(rows)} documents ({counts}) written to {args.out}")
    return 0


def _model_answers(model_id: str, samples: int, seed: int) -> list[dict[str, object]]:
    """The model's own answers to the shipped prompts, sampled at temperature 1."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from monitor.english import load_prompts
    from monitor.evals import sample_answers

    tokenizer = AutoTokenizer.from_pretrained(model_id)
    model = AutoModelForCausalLM.from_pretrained(model_id, dtype="float32")
    prompts = [[{"role": "user", "content": p.text}] for p in load_prompts()]
    answers = sample_answers(
        model, tokenizer, prompts, samples=samples, seed=seed, max_new_tokens=96, batch_size=64
    )
    return [
        {"messages": [*prompt, {"role": "assistant", "content": text}], "label": "model"}
        for prompt, texts in zip(prompts, answers, strict=True)
        for text in texts
        if text.strip()
    ]
