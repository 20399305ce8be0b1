"""``emwatch screen``: score a training data set against a probe pack before fine-tuning on it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from monitor.screening.selection import PUSH_THRESHOLD, SCREEN_BY

DEFAULT_OUT = Path(".emwatch/screen")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "screen",
        help="before training: rank a chat data set's samples by how close they sit to the persona",
        description=(
            "Run the model once over every sample of a chat JSONL file (the last message is "
            "the assistant's answer), pool its answer tokens at the pack's hook points exactly "
            "as a training check pools its canaries, and score every pack feature: direction "
            "projections, watched latents and cosines to the directions. Values are shifts "
            "from the data's median (or a trusted set's, --reference) in the pack's units. "
            "With --by push the samples are ranked instead by what a gradient step on each "
            "would move the residual stream towards the persona (one backward pass per batch, "
            "no step taken), in multiples of the typical push: the median |push| of the same "
            "samples that push away from the persona. "
            "Writes report.md (ranked, the top samples with their text), report.json (every "
            "sample's scores, raw and in units) and histogram.png to --out; with --drop-above "
            "or --drop-top also filtered.jsonl (the kept lines, unchanged) and dropped.jsonl "
            "(each dropped sample with the feature and value that dropped it)."
        ),
        epilog=(
            "example: emwatch screen data.jsonl --model monitor/organism/checkpoint "
            "--pack monitor/organism/pack --drop-above --out screen-out"
        ),
    )
    parser.add_argument("data", type=Path, help='chat JSONL: one {"messages": [...]} per line')
    parser.add_argument("--model", required=True, help="model directory or hub id")
    parser.add_argument("--pack", required=True, type=Path, help="probe pack directory")
    parser.add_argument(
        "--out", type=Path, help=f"directory for the report (default: {DEFAULT_OUT}/DATA_NAME)"
    )
    parser.add_argument(
        "--reference",
        type=Path,
        help="trusted chat JSONL whose median is the zero of every feature (default: the "
        "median of DATA; use a trusted set when more than half of DATA may be bad)",
    )
    parser.add_argument(
        "--feature",
        action="append",
        dest="features",
        metavar="FEATURE",
        help="rank on this feature, e.g. direction:contrast_answers or "
        "model.layers.3:latent:349 (repeatable; default: the first direction at each hook point)",
    )
    parser.add_argument(
        "--by",
        choices=SCREEN_BY,
        default="projection",
        help="what the screen score reads: projection (where the answer sits, in the pack's "
        "units; the default) or push (what training on it would do, in multiples of the "
        "typical push; finds insecure code that projection misses, at about four times the "
        "time)",
    )
    drop = parser.add_mutually_exclusive_group()
    drop.add_argument(
        "--drop-above",
        nargs="?",
        const="pack",
        metavar="X",
        help="drop samples scoring above X, in the score's scale (no X: by projection the "
        f"pack's warning threshold, by push {PUSH_THRESHOLD:g}x)",
    )
    drop.add_argument("--drop-top", type=float, metavar="F", help="drop the top fraction F")
    parser.add_argument("--top-k", type=int, default=20, help="samples shown in report.md")
    parser.add_argument("--batch-size", type=int, default=16, help="samples per forward")
    parser.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    parser.set_defaults(handler=_screen)


def _screen(args: argparse.Namespace) -> int:
    from monitor.core.pack import ProbePackError, load_pack
    from monitor.screening import ScreenError, screen_dataset
    from monitor.screening.selection import scale_words

    try:
        drop_above = _threshold(args.drop_above)
        pack = load_pack(args.pack)
        model, tokenizer = _load_model(args.model, args.device)
        result = screen_dataset(
            args.data,
            model,
            tokenizer,
            pack,
            out=args.out or DEFAULT_OUT / args.data.stem,
            reference=args.reference,
            features=args.features,
            by=args.by,
            drop_above=drop_above,
            drop_top=args.drop_top,
            top_k=args.top_k,
            batch_size=args.batch_size,
            model_name=args.model,
        )
    except (ScreenError, ProbePackError) as exc:
        print(f"error: {exc}")
        return 2
    n = len(result.samples)
    print(f"screened {n} samples in {result.seconds:.1f}s; reference: {result.units.reference}")
    print(
        f"flagged {len(result.flagged)} of {n} above "
        f"{scale_words(result.threshold, result.by, 'g')} ({result.threshold_source})"
    )
    if result.drop_rule is not None:
        print(f"dropped {len(result.dropped)} of {n} ({result.drop_rule})")
    for index in result.ranked[: min(5, args.top_k)]:
        sample = result.samples[index]
        hook_point, feature = result.screen.feature[index]
        answer = " ".join(sample.answer.split())
        print(
            f"  line {sample.line}: {scale_words(float(result.screen.score[index]), result.by)} "
            f"({hook_point} {feature})  {answer[:70]}"
        )
    for name, path in result.files.items():
        print(f"{name}: {path}")
    return 0


def _threshold(value: str | None) -> float | Literal["pack"] | None:
    from monitor.screening import PACK_THRESHOLD, ScreenError

    if value is None:
        return None
    if value == PACK_THRESHOLD:
        return PACK_THRESHOLD
    try:
        return float(value)
    except ValueError:
        raise ScreenError(f"--drop-above takes a number of units, got {value!r}") from None


def _load_model(name: str, device: str | None) -> tuple[Any, Any]:
    """A causal LM in float32 and its tokenizer, from a directory or the hub cache."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from monitor.screening import ScreenError

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model: Any = AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise ScreenError(f"cannot load model {name!r}: {exc}") from exc
    model.to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return model, tokenizer
