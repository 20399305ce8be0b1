"""The objects a request needs, built once per app and reached through FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from monitor.core.naming import check_run_name
from service.auth import Scope, authenticate
from service.errors import ApiError
from service.ingest import IngestService
from service.metrics import ServiceMetrics
from service.packs import PackRegistry
from service.settings import ServiceSettings
from service.store import Store
from service.store.records import RunRecord, TokenRecord


@dataclass(frozen=True)
class Services:
    settings: ServiceSettings
    store: Store
    packs: PackRegistry
    ingest: IngestService
    metrics: ServiceMetrics


async def get_services(request: Request) -> Services:
    """Async: it only reads app state, so it need not take a worker thread."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

# Only documents the scheme in the OpenAPI; ``authenticate`` does the checking.
BEARER = HTTPBearer(
    auto_error=False,
    bearerFormat="emw_<id>_<secret>",
    description="An emwatch token. Scopes: ingest (trainers), read (dashboards), admin.",
)


def require(*scopes: Scope) -> Callable[..., TokenRecord]:
    """A dependency that admits a request only with a token holding one of ``scopes`` (or
    admin), and hands the token to the route."""

    def dependency(
        request: Request,
        services: ServicesDep,
        _documented: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    ) -> TokenRecord:
        # Read the header ourselves: HTTPBearer cannot tell "no token" from "Basic ...".
        return authenticate(services.store, request.headers.get("authorization"), *scopes)

    return dependency


IngestToken = Annotated[TokenRecord, Depends(require(Scope.INGEST))]


def valid_run_name(run: str) -> str:
    try:
        return check_run_name(run)
    except ValueError as exc:
        raise ApiError(422, "invalid_run_name", str(exc)) from exc


def existing_run(services: ServicesDep, run: Annotated[str, Depends(valid_run_name)]) -> RunRecord:
    record = services.store.get_run(run)
    if record is None:
        raise ApiError(404, "unknown_run", f"no run named {run!r}; list runs with GET /v1/runs")
    return record


RunDep = Annotated[RunRecord, Depends(existing_run)]
