"""``emwatch samples RUN``: the training samples that pushed a run towards the persona."""

from __future__ import annotations

import argparse
import json
from typing import Any

from monitor.cli.common import add_service_options, client_from, print_table, reports_errors

TEXT_CHARS = 60  # longer answers are cut to this many characters in the table


def register(subparsers: Any) -> None:
    samples = subparsers.add_parser(
        "samples",
        help="show the training samples that pushed a run towards the persona",
        description="Show the training samples that scored highest towards the misaligned "
        "persona, over the attribution windows the run's checks carried (each the samples "
        "trained on since the check before), then each window's share of samples above one "
        "unit. A sample trained in several windows is listed once per window.",
        epilog="example: emwatch samples sft-7 --top 20 --since-step 1000",
    )
    samples.add_argument("run", help="run name")
    add_service_options(samples)
    samples.add_argument("--top", type=int, default=10, help="how many samples (default 10)")
    samples.add_argument(
        "--since-step", type=int, help="only windows of checks at or after this step"
    )
    samples.add_argument("--json", action="store_true", help="print the API's JSON")
    samples.set_defaults(handler=show_samples)


def _cut(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TEXT_CHARS else flat[: TEXT_CHARS - 1] + "…"


@reports_errors
def show_samples(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        answer = client.samples(args.run, args.top, args.since_step)
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    if not answer["windows"]:
        print(f"no attribution windows for run {args.run}: its checks carry no sample summary")
        return 0
    samples = answer["samples"]
    with_text = any(s.get("text") is not None for s in samples)
    print_table(
        [
            "RANK",
            "INDEX",
            "STEP",
            "SCORE",
            "PROJECTION",
            "FEATURE",
            *(["TEXT"] if with_text else []),
        ],
        [
            [
                rank,
                "?" if s["index"] is None else s["index"],
                s["step"],
                f"{s['score']:+.2f}",
                "-" if s.get("projection") is None else f"{s['projection']:+.2f}",
                s["feature"],
                *([_cut(s["text"] or "")] if with_text else []),
            ]
            for rank, s in enumerate(samples, start=1)
        ],
    )
    print(
        "SCORE: by push, how many times a typical early sample's push towards the persona "
        "training on it gives; by projection, where it sits, in pack units (PROJECTION)"
    )
    print()
    for w in answer["windows"]:
        print(
            f"check {w['step']} (steps {w['first_step']}-{w['last_step']}, ranked by "
            f"{w['ranking']}): {w['n_above_unit']} of {w['n_samples']} samples above one unit "
            f"({w['share_above_unit']:.1%})"
        )
    return 0
