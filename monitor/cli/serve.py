"""``emwatch serve``: run the service with an embedded SQLite store (or PostgreSQL by URL)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the emwatch service (HTTP API, /metrics, alerts)",
        description=(
            "Run the emwatch service. With no options it keeps everything in a SQLite file "
            "under --data-dir, so nothing else needs to run. On the first start (no tokens "
            "yet) it creates an admin token and prints it once: give it to your trainer as "
            "EMWATCH_TOKEN. Settings also come from EMWATCH_* environment variables."
        ),
        epilog="example: emwatch serve --port 8321 --data-dir /var/lib/emwatch",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface (default %(default)s; use 0.0.0.0 to listen on all)",
    )
    parser.add_argument("--port", type=int, default=8321, help="port (default %(default)s)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="SQLite file and unpacked probe packs (env EMWATCH_DATA_DIR; default ./.emwatch)",
    )
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL, e.g. postgresql://user:pass@host/emwatch (env EMWATCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from service.app import create_app
    from service.auth import Scope, create_token
    from service.settings import ServiceSettings
    from service.store import DatabaseError, Store, connect

    overrides: dict[str, Any] = {}
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if args.database_url is not None:
        overrides["database_url"] = args.database_url
    settings = ServiceSettings(**overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        store = Store(connect(settings.resolved_database_url()))
    except DatabaseError as exc:
        print(f"error: {exc}")
        return 2
    if not store.list_tokens() and not settings.bootstrap_token:
        token, _ = create_token(store, "initial-admin", {Scope.ADMIN})
        print(
            "No API tokens existed, so emwatch created an admin token. It is shown only "
            f"once; store it now:\n\n    EMWATCH_TOKEN={token}\n",
            flush=True,
        )
    store.engine.dispose()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0
