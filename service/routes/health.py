"""Liveness (the process answers) and readiness (the database takes a write).

Both run on the event loop, not in the worker threads: when every worker waits on a hung
database, ``/v1/health`` still answers at once and ``/v1/ready`` within its timeout. Readiness
asks the database to take a write (on SQLite, its write lock: a database locked by another
process is not ready), with its own small set of threads it never shares with requests.
"""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request

from monitor import __version__
from service.schemas import HealthOut, ReadyOut
from service.services import Services
from service.store import DatabaseUnavailableError

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=HealthOut)
async def health() -> HealthOut:
    """The process is alive; never waits on the database or the worker threads."""
    return HealthOut(status="ok", version=__version__)


@router.get("/ready", response_model=ReadyOut)
async def ready(request: Request) -> ReadyOut:
    """The database takes a write within EMWATCH_READY_TIMEOUT_S; else 503
    ``database_unavailable``, as any request the database fails."""
    services: Services = request.app.state.services
    timeout = services.settings.ready_timeout_s
    try:
        with anyio.fail_after(timeout + 1.0):  # the store's own deadline is ``timeout``
            await anyio.to_thread.run_sync(
                services.store.check_writable,
                timeout,
                limiter=request.app.state.ready_threads,
                abandon_on_cancel=True,
            )
    except TimeoutError as exc:  # answered as any other request the database fails: 503
        raise DatabaseUnavailableError(f"no write within {timeout:g} s") from exc
    return ReadyOut(status="ready", database=services.store.engine.dialect.name)
