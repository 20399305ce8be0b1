"""Runs: create (idempotent), list, get, finish, resume, delete."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Depends, Response

from monitor.core.detect import DetectorConfig
from monitor.core.scoring import ScoringError, check_compatible
from service.access import require_run_writer
from service.auth import Scope
from service.errors import ApiError
from service.openapi import errors
from service.resume import resume_run
from service.schemas import (
    ResumedRunOut,
    ResumeRequest,
    RunCreate,
    RunOut,
    RunUpdate,
)
from service.services import IngestToken, RunDep, Services, ServicesDep, require
from service.store.errors import DuplicateKeyError
from service.store.records import RunRecord

router = APIRouter(prefix="/v1/runs", tags=["runs"])


def run_out(services: Services, run: RunRecord) -> RunOut:
    return RunOut.of(run, services.store.resumes_of([run.run_id])[run.run_id])


def _same_spec(run: RunRecord, body: RunCreate, detector: DetectorConfig) -> bool:
    return (run.probe_pack, run.model_id, run.detector_config, run.labels) == (
        body.probe_pack,
        body.model_id,
        detector.model_dump(mode="json"),
        body.labels,
    )


@router.post(
    "",
    response_model=RunOut,
    status_code=201,
    responses={
        200: {"model": RunOut, "description": "Run exists with this spec (resumed)"},
        **errors(404, 409),
    },
)
def create_run(
    body: RunCreate, response: Response, services: ServicesDep, token: IngestToken
) -> RunOut:
    """Create a run, or resume one: the same spec again answers 200 and reopens the run.

    The token that creates a run is the one (with admins) that may change it later."""
    pack = services.packs.load(body.probe_pack)
    if body.d_model is not None or body.hook_points is not None:
        try:
            check_compatible(
                pack, body.hook_points or pack.hook_points, body.d_model or pack.d_model
            )
        except ScoringError as exc:
            raise ApiError(422, "incompatible_probe_pack", str(exc)) from exc
    detector = body.detector or pack.manifest.detector or DetectorConfig()
    existing = services.store.get_run(body.name)
    if existing is None:
        try:
            run = services.store.create_run(
                name=body.name,
                probe_pack=body.probe_pack,
                model_id=body.model_id,
                detector_config=detector.model_dump(mode="json"),
                labels=body.labels,
                prompt_set_hash=body.prompt_set_hash,
                created_at=time.time(),
                created_by=token.token_id,
            )
            return RunOut.of(run, [])
        except DuplicateKeyError:  # created concurrently: fall through to the comparison
            existing = services.store.get_run(body.name)
            if existing is None:  # and deleted again since
                raise ApiError(409, "run_conflict", f"run {body.name!r} changed; retry") from None
    require_run_writer(token, existing)
    if not _same_spec(existing, body, detector):
        raise ApiError(
            409,
            "run_conflict",
            f"run {body.name!r} exists with a different probe pack, model, detector "
            "or labels; choose another run name",
        )
    if body.prompt_set_hash and existing.prompt_set_hash not in (None, body.prompt_set_hash):
        raise ApiError(409, "run_conflict", f"run {body.name!r} used another canary prompt set")
    if existing.status != "running":
        services.store.set_run_status(existing.name, "running", None)
    response.status_code = 200
    return run_out(services, _reread(services, body.name))


def _reread(services: Services, name: str) -> RunRecord:
    run = services.store.get_run(name)
    if run is None:  # deleted between this request's write and its answer
        raise ApiError(404, "unknown_run", f"run {name!r} was deleted meanwhile")
    return run


@router.get("", response_model=list[RunOut], dependencies=[Depends(require(Scope.READ))])
def list_runs(
    services: ServicesDep, status: Literal["running", "finished", "failed"] | None = None
) -> list[RunOut]:
    runs = services.store.list_runs(status)
    resumes = services.store.resumes_of(run.run_id for run in runs)
    return [RunOut.of(run, resumes[run.run_id]) for run in runs]


@router.get(
    "/{run}",
    response_model=RunOut,
    responses=errors(404),
    dependencies=[Depends(require(Scope.READ, Scope.INGEST))],
)
def get_run(run: RunDep, services: ServicesDep) -> RunOut:
    """A run; ingest tokens may read it too (a trainer checks where its run stands)."""
    return run_out(services, run)


@router.patch("/{run}", response_model=RunOut, responses=errors(404))
def update_run(run: RunDep, body: RunUpdate, services: ServicesDep, token: IngestToken) -> RunOut:
    """Mark a run finished or failed (it leaves /metrics), or running again.

    Only the token that created the run, or an admin, may."""
    require_run_writer(token, run)
    finished_at = None if body.status == "running" else time.time()
    services.store.set_run_status(run.name, body.status, finished_at)
    return run_out(services, _reread(services, run.name))


@router.post("/{run}/resume", response_model=ResumedRunOut, responses=errors(404))
def resume(
    run: RunDep, body: ResumeRequest, services: ServicesDep, token: IngestToken
) -> ResumedRunOut:
    """Training restarted from ``from_step``: supersede every later check of the run.

    Superseded checks stay stored for audit (``GET /scores?include_superseded=true``) but leave
    the scores, alerts, detector and /metrics, and their steps may be sent again with any
    content. A finished run stays finished unless ``reopen`` is true. Repeating the call with
    nothing new since supersedes nothing. Only the token that created the run, or an admin."""
    resumed, superseded = resume_run(
        services.store,
        services.packs,
        run,
        from_step=body.from_step,
        reopen=body.reopen,
        token=token,
    )
    return ResumedRunOut(**run_out(services, resumed).model_dump(), superseded=superseded)


@router.delete(
    "/{run}",
    status_code=204,
    responses=errors(404),
    dependencies=[Depends(require(Scope.ADMIN))],
)
def delete_run(run: RunDep, services: ServicesDep) -> Response:
    services.store.delete_run(run.run_id)
    return Response(status_code=204)
