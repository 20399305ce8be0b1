"""Checks in (binary safetensors), score series and alerts out."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response

from monitor.core.wire import MAX_STEP, MEDIA_TYPE
from service.auth import Scope
from service.errors import ApiError
from service.limits import read_body
from service.memory import LARGE_BYTES, release_freed_memory
from service.openapi import errors
from service.schemas import AlertListOut, AlertOut, CheckResult, ScorePointOut, ScoreSeriesOut
from service.services import IngestToken, RunDep, ServicesDep, require, valid_run_name

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
        **errors(400, 404, 409, 413, 415, 422),
    },
)
async def ingest_check(
    run: Annotated[str, Depends(valid_run_name)],
    request: Request,
    response: Response,
    services: ServicesDep,
    token: IngestToken,
) -> CheckResult:
    """Score a check against the run's probe pack and update its detector.

    Only the token that created the run, or an admin, may send its checks."""
    content_type = request.headers.get("content-type")
    if (content_type or "").split(";")[0].strip() != MEDIA_TYPE:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send checks as {MEDIA_TYPE} (the bytes of monitor.core.wire.encode_check), "
            f"not {content_type or 'no content type'}",
        )
    body = await read_body(request)
    size = len(body)
    try:
        result, stored = await anyio.to_thread.run_sync(
            services.ingest.ingest, run, body, token, limiter=request.app.state.ingest_threads
        )
    finally:
        del body
        if size >= LARGE_BYTES:
            await anyio.to_thread.run_sync(release_freed_memory)
    response.status_code = 201 if stored else 200
    return result


@router.get(
    "/scores",
    response_model=ScoreSeriesOut,
    responses=errors(404),
    dependencies=[Depends(require(Scope.READ))],
)
def score_series(
    run: RunDep,
    services: ServicesDep,
    hook_point: Annotated[str | None, Query(max_length=200)] = None,
    feature: Annotated[str | None, Query(max_length=100)] = None,
    since_step: Annotated[int | None, Query(ge=0, le=MAX_STEP)] = None,
    include_superseded: bool = False,
) -> ScoreSeriesOut:
    """Every check's per-feature value, z-score and CUSUM, in step order.

    ``include_superseded``: also the points of checks a resume superseded, flagged."""
    rows = services.store.score_series(
        run.run_id,
        hook_point=hook_point,
        feature=feature,
        since_step=since_step,
        include_superseded=include_superseded,
    )
    return ScoreSeriesOut(run=run.name, points=[ScorePointOut.of(row) for row in rows])


@router.get(
    "/alerts",
    response_model=AlertListOut,
    responses=errors(404),
    dependencies=[Depends(require(Scope.READ))],
)
def list_alerts(
    run: RunDep,
    services: ServicesDep,
    state: Literal["pending", "firing", "resolved"] | None = None,
) -> AlertListOut:
    rows = services.store.list_alerts(run.run_id, state)
    return AlertListOut(run=run.name, alerts=[AlertOut.of(row) for row in rows])
