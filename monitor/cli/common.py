"""Options and helpers shared by the commands that talk to a running service."""

from __future__ import annotations

import argparse
import os

from monitor.client import EmwatchClient

DEFAULT_URL = "http://127.0.0.1:8321"


def add_service_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("EMWATCH_URL", DEFAULT_URL),
        help="service URL (env EMWATCH_URL; default %(default)s)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("EMWATCH_TOKEN"),
        help="API token (env EMWATCH_TOKEN); `emwatch serve` prints one on first start",
    )


def client_from(args: argparse.Namespace) -> EmwatchClient:
    return EmwatchClient(args.url, args.token)


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    """Left-aligned columns, wide enough for their longest cell."""
    cells = [headers, *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
