"""``/metrics`` in the Prometheus text format."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.auth import Scope, authenticate
from service.services import ServicesDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", response_class=Response)
def metrics(
    services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    if services.settings.metrics_require_token:
        authenticate(services.store, authorization, Scope.READ)
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
