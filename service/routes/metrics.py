"""``/metrics`` in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.auth import Scope, authenticate
from service.services import ServicesDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format.",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        }
    },
)
def metrics(services: ServicesDep, request: Request) -> Response:
    if services.settings.metrics_require_token:
        authenticate(services.store, request.headers.get("authorization"), Scope.READ)
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
