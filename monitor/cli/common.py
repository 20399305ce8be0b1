"""Options and helpers shared by the commands that talk to a running service."""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable

from monitor.core.detect import DetectorConfig
from monitor.core.pack import ProbePackError
from monitor.trainer.client import EmwatchClient, ServiceError

Handler = Callable[[argparse.Namespace], int]

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


def reports_errors(handler: Handler) -> Handler:
    """Turn the errors a user can act on (service down or refusing, a broken pack) into one
    ``error: ...`` line and exit status 1, instead of a traceback."""

    @functools.wraps(handler)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (ServiceError, ProbePackError) as exc:
            print(f"error: {exc}")
            return 1

    return wrapper


def thresholds(detector: DetectorConfig) -> str:
    """``rule warning/critical, ...``: a detector's thresholds on one line."""
    return ", ".join(
        f"{name} {rule.warning:g}/{rule.critical:g}" for name, rule in detector.rules.items()
    )
