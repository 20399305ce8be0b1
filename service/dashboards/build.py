"""Write the dashboards to JSON files, or check that the committed files are current."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from service.dashboards.grafana import Json
from service.dashboards.overview import overview
from service.dashboards.run import run_dashboard

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "docker" / "grafana" / "dashboards"


def all_dashboards() -> dict[str, Json]:
    """File name -> dashboard JSON model."""
    return {"emwatch-overview.json": overview(), "emwatch-run.json": run_dashboard()}


def render(model: Json) -> str:
    return json.dumps(model, indent=2, ensure_ascii=False) + "\n"


def stale_files(directory: Path) -> list[str]:
    """Dashboards whose file in ``directory`` is missing or differs from the code."""
    return [
        name
        for name, model in all_dashboards().items()
        if not (directory / name).is_file() or (directory / name).read_text() != render(model)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.dashboards", description=__doc__)
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIRECTORY)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.directory)
        for name in stale:
            print(f"{args.directory / name} is stale: run `python -m service.dashboards`")
        return 1 if stale else 0
    args.directory.mkdir(parents=True, exist_ok=True)
    for name, model in all_dashboards().items():
        (args.directory / name).write_text(render(model))
        print(f"wrote {args.directory / name}")
    return 0
