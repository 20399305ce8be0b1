"""Liveness (the process answers) and readiness (the database answers)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter

from monitor import __version__
from service.errors import ApiError
from service.schemas import HealthOut, ReadyOut
from service.services import ServicesDep

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=HealthOut)
def health() -> HealthOut:
    return HealthOut(status="ok", version=__version__)


@router.get("/ready", response_model=ReadyOut, responses={503: {"description": "DB down"}})
def ready(services: ServicesDep) -> ReadyOut:
    try:
        services.store.ping()
    except sa.exc.SQLAlchemyError as exc:
        raise ApiError(503, "database_unavailable", f"database not reachable: {exc}") from exc
    return ReadyOut(status="ready", database=services.store.engine.dialect.name)
