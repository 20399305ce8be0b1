"""``emwatch runs`` and ``emwatch alerts RUN``: what the service knows, from the terminal."""

from __future__ import annotations

import argparse
import json
from typing import Any

from monitor.cli.common import add_service_options, client_from, print_table, reports_errors


def register(subparsers: Any) -> None:
    runs = subparsers.add_parser(
        "runs",
        help="list runs and their state",
        description="List the runs the service knows: status, checks received, latest step "
        "and how many alerts are firing.",
        epilog="example: emwatch runs --status running",
    )
    add_service_options(runs)
    runs.add_argument(
        "--status", choices=["running", "finished", "failed"], help="only runs with this status"
    )
    runs.add_argument("--json", action="store_true", help="print the API's JSON")
    runs.set_defaults(handler=list_runs)

    alerts = subparsers.add_parser(
        "alerts",
        help="show a run's alerts",
        description="Show a run's alerts: which hook point and feature (a misalignment "
        "direction or a watched SAE latent) drifted, under which rule, at which "
        "step it started and fired, and its value against the threshold.",
        epilog="example: emwatch alerts sft-7 --state firing",
    )
    alerts.add_argument("run", help="run name")
    add_service_options(alerts)
    alerts.add_argument("--state", choices=["pending", "firing", "resolved"])
    alerts.add_argument("--json", action="store_true", help="print the API's JSON")
    alerts.set_defaults(handler=show_alerts)


@reports_errors
def list_runs(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        runs = client.list_runs(args.status)
        firing = {run["name"]: len(client.alerts(run["name"], "firing")["alerts"]) for run in runs}
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    print_table(
        ["RUN", "STATUS", "PROBE PACK", "CHECKS", "LAST STEP", "FIRING"],
        [
            [
                r["name"],
                r["status"],
                r["probe_pack"],
                r["n_checks"],
                r["last_step"],
                firing[r["name"]],
            ]
            for r in runs
        ],
    )
    return 0


@reports_errors
def show_alerts(args: argparse.Namespace) -> int:
    with client_from(args) as client:
        alerts = client.alerts(args.run, args.state)["alerts"]
    if args.json:
        print(json.dumps(alerts, indent=2))
        return 0
    if not alerts:
        print(f"no {args.state + ' ' if args.state else ''}alerts for run {args.run}")
        return 0
    print_table(
        [
            "STATE",
            "SEVERITY",
            "HOOK POINT",
            "FEATURE",
            "RULE",
            "STARTED",
            "FIRED",
            "RESOLVED",
            "VALUE",
            "THRESHOLD",
        ],
        [
            [
                a["state"],
                a["severity"],
                a["hook_point"],
                a["feature"],
                a["rule"],
                a["started_step"],
                a["firing_step"],
                a["resolved_step"],
                f"{a['value']:.2f}",
                f"{a['threshold']:.2f}",
            ]
            for a in alerts
        ],
    )
    return 0
