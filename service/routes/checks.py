"""Checks in (binary safetensors), score series and alerts out."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from monitor.core.wire import MEDIA_TYPE
from service.auth import Scope
from service.errors import ApiError
from service.schemas import (
    AlertListOut,
    AlertOut,
    CheckResult,
    ErrorOut,
    ScorePointOut,
    ScoreSeriesOut,
)
from service.services import RunDep, ServicesDep, require, valid_run_name

router = APIRouter(prefix="/v1/runs/{run}", tags=["checks"])

_CHECK_DOC = {
    "requestBody": {
        "required": True,
        "description": "A check in emwatch's wire format (monitor.core.wire.encode_check): "
        "safetensors, one [n_prompts, d_model] tensor per hook point.",
        "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/checks",
    response_model=CheckResult,
    status_code=201,
    openapi_extra=_CHECK_DOC,
    responses={
        200: {"model": CheckResult, "description": "Exact repeat, stored once"},
        400: {"model": ErrorOut},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
        413: {"model": ErrorOut},
        415: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
    dependencies=[Depends(require(Scope.INGEST))],
)
async def ingest_check(
    run: Annotated[str, Depends(valid_run_name)],
    request: Request,
    response: Response,
    services: ServicesDep,
    content_type: Annotated[str | None, Header()] = None,
) -> CheckResult:
    """Score a check against the run's probe pack and update its detector."""
    if (content_type or "").split(";")[0].strip() != MEDIA_TYPE:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send checks as {MEDIA_TYPE} (the bytes of monitor.core.wire.encode_check), "
            f"not {content_type or 'no content type'}",
        )
    body = await request.body()
    result, stored = await run_in_threadpool(services.ingest.ingest, run, body)
    response.status_code = 201 if stored else 200
    return result


@router.get(
    "/scores",
    response_model=ScoreSeriesOut,
    responses={404: {"model": ErrorOut}},
    dependencies=[Depends(require(Scope.READ))],
)
def score_series(
    run: RunDep,
    services: ServicesDep,
    hook_point: str | None = None,
    feature: str | None = None,
    since_step: int | None = None,
) -> ScoreSeriesOut:
    """Every check's per-feature value, z-score and CUSUM, in step order."""
    rows = services.store.score_series(
        run.run_id, hook_point=hook_point, feature=feature, since_step=since_step
    )
    return ScoreSeriesOut(run=run.name, points=[ScorePointOut.of(row) for row in rows])


@router.get(
    "/alerts",
    response_model=AlertListOut,
    responses={404: {"model": ErrorOut}},
    dependencies=[Depends(require(Scope.READ))],
)
def list_alerts(
    run: RunDep,
    services: ServicesDep,
    state: Literal["pending", "firing", "resolved"] | None = None,
) -> AlertListOut:
    rows = services.store.list_alerts(run.run_id, state)
    return AlertListOut(run=run.name, alerts=[AlertOut.of(row) for row in rows])
