"""The objects a request needs, built once per app and reached through FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Path, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from monitor.core.naming import RUN_NAME_PATTERN, check_run_name
from service.auth import Scope, bearer_token, verify
from service.errors import ApiError
from service.ingest import IngestService
from service.metrics import ServiceMetrics
from service.packs import PackRegistry
from service.settings import ServiceSettings
from service.store import Store
from service.store.records import RunRecord, TokenRecord
from service.token_cache import TokenCache


@dataclass(frozen=True)
class Services:
    settings: ServiceSettings
    store: Store
    packs: PackRegistry
    ingest: IngestService
    metrics: ServiceMetrics
    tokens: TokenCache


async def get_services(request: Request) -> Services:
    """Async: it only reads app state, so it need not take a worker thread."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

# Only documents the scheme in the OpenAPI; ``authenticate`` does the checking.
BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="emw_<id>_<secret>",
    description="An emwatch token. Scopes: ingest (trainers), read (dashboards), admin.",
)


def require(*scopes: Scope) -> Callable[..., Awaitable[TokenRecord]]:
    """A dependency that admits a request only with a token holding one of ``scopes`` (or
    admin), and hands the token to the route."""

    async def dependency(
        request: Request,
        services: ServicesDep,
        _documented: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
    ) -> TokenRecord:
        # Read the header ourselves: HTTPBearer cannot tell "no token" from "Basic ...".
        token_id, secret = bearer_token(request.headers.get("authorization"))
        record = services.tokens.get(token_id)
        if record is None:  # a database read: in a worker thread, not on the event loop
            record = await anyio.to_thread.run_sync(services.store.get_token, token_id)
            if record is not None:
                services.tokens.put(record)
        return verify(record, token_id, secret, *scopes)

    return dependency


IngestToken = Annotated[TokenRecord, Depends(require(Scope.INGEST))]


# Documented with its pattern, checked by ``valid_run_name`` (whose message says how to fix it).
RunPath = Annotated[
    str,
    Path(description="Run name.", json_schema_extra={"pattern": RUN_NAME_PATTERN}),
]


_QUERY_NAMES: dict[int, frozenset[str]] = {}  # by route; routes live as long as the process


def _query_names(dependant: Dependant) -> frozenset[str]:
    """The query parameters a route takes, its dependencies' included."""
    own = {param.alias for param in dependant.query_params}
    return frozenset(own.union(*(_query_names(sub) for sub in dependant.dependencies)))


async def known_query_parameters(request: Request) -> None:
    """Refuse query parameters the route does not take: a typo (``?stauts=finished``) would
    otherwise be ignored and answer as if no filter had been asked for."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = _QUERY_NAMES.get(id(route))
    if known is None:
        known = _QUERY_NAMES[id(route)] = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise ApiError(
            422,
            "unknown_query_parameter",
            f"unknown query parameters {unknown}; this endpoint takes: {takes}",
        )


async def valid_run_name(run: RunPath) -> str:
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
