"""The objects a request needs, built once per app and reached through FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

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


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def require(scope: Scope) -> Callable[..., TokenRecord]:
    """A dependency that admits a request only with a token holding ``scope`` (or admin)."""

    def dependency(
        services: ServicesDep, authorization: Annotated[str | None, Header()] = None
    ) -> TokenRecord:
        return authenticate(services.store, authorization, scope)

    return dependency


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
