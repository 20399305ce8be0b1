"""Entry point of the ``emwatch`` console script.

Each command group lives in its own module with a ``register(subparsers)`` function that adds
its parser and sets ``handler``; this module only wires them together, so adding a command
never touches the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from monitor import __version__

# Modules under monitor.cli that contribute commands, in the order `--help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "serve",
    "runs",
    "samples",
    "probes",
    "spool",
    "demo",
    "bench",
    "organism",
    "models",
    "english",
    "screen",
    "realign",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emwatch",
        description=(
            "Training-time early warning for emergent misalignment. Start the service with "
            "`emwatch serve`, attach the trainer callback to your fine-tune, and watch runs "
            "with `emwatch runs` and `emwatch alerts RUN`."
        ),
    )
    parser.add_argument("--version", action="version", version=f"emwatch {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"monitor.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return int(handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
