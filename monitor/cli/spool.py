"""``emwatch spool replay``: send checks a trainer left on disk during an outage."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from monitor.cli.common import add_service_options, client_from
from monitor.trainer.client import ServiceError, ServiceRejectedError
from monitor.trainer.spool import DEFAULT_SPOOL_DIR, Spool


def register(subparsers: Any) -> None:
    spool = subparsers.add_parser(
        "spool",
        help="replay checks spooled while the service was down",
        description="When the trainer cannot reach the service it keeps checks on disk. They "
        "are replayed automatically while training runs; checks still there when "
        "training ended are sent with `emwatch spool replay RUN`.",
    )
    commands = spool.add_subparsers(title="commands", metavar="COMMAND")
    replay = commands.add_parser(
        "replay",
        help="send a run's spooled checks, oldest first",
        epilog="example: emwatch spool replay sft-7 --finish",
    )
    replay.add_argument("run")
    replay.add_argument(
        "--spool-dir",
        type=Path,
        default=DEFAULT_SPOOL_DIR,
        help="spool root (default %(default)s)",
    )
    replay.add_argument(
        "--finish", action="store_true", help="mark the run finished once the spool is empty"
    )
    add_service_options(replay)
    replay.set_defaults(handler=replay_spool)
    spool.set_defaults(handler=lambda _args: spool.print_help() or 2)


def replay_spool(args: argparse.Namespace) -> int:
    spool = Spool(args.spool_dir, args.run)
    sent = refused = 0
    with client_from(args) as client:
        for step in spool.steps():
            try:
                client.send_check(args.run, spool.read(step))
                sent += 1
            except ServiceRejectedError as exc:
                print(f"step {step} refused, dropped: {exc}")
                refused += 1
            except ServiceError as exc:
                print(f"stopped at step {step}: {exc}")
                return 1
            spool.remove(step)
        if args.finish:
            client.set_run_status(args.run, "finished")
    print(f"replayed {sent} checks of {args.run} ({refused} refused); spool is empty")
    return 0 if refused == 0 else 1
