"""Runs: create (idempotent), list, get, finish, delete."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Response

from monitor.core.detect import DetectorConfig
from monitor.core.scoring import ScoringError, check_compatible
from service.auth import Scope
from service.errors import ApiError
from service.schemas import ErrorOut, RunCreate, RunOut, RunUpdate
from service.services import RunDep, ServicesDep, require
from service.store.records import RunRecord
from service.store.store import DuplicateKeyError

router = APIRouter(prefix="/v1/runs", tags=["runs"])


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
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
    dependencies=[Depends(require(Scope.INGEST))],
)
def create_run(body: RunCreate, response: Response, services: ServicesDep) -> RunOut:
    """Create a run, or resume one: the same spec again answers 200 and reopens the run."""
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
            )
            return RunOut.of(run)
        except DuplicateKeyError:  # created concurrently: fall through to the comparison
            existing = services.store.get_run(body.name)
            assert existing is not None
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
    resumed = services.store.get_run(body.name)
    assert resumed is not None
    return RunOut.of(resumed)


@router.get("", response_model=list[RunOut], dependencies=[Depends(require(Scope.READ))])
def list_runs(services: ServicesDep, status: str | None = None) -> list[RunOut]:
    return [RunOut.of(run) for run in services.store.list_runs(status)]


@router.get(
    "/{run}",
    response_model=RunOut,
    responses={404: {"model": ErrorOut}},
    dependencies=[Depends(require(Scope.READ))],
)
def get_run(run: RunDep) -> RunOut:
    return RunOut.of(run)


@router.patch(
    "/{run}",
    response_model=RunOut,
    responses={404: {"model": ErrorOut}},
    dependencies=[Depends(require(Scope.INGEST))],
)
def update_run(run: RunDep, body: RunUpdate, services: ServicesDep) -> RunOut:
    """Mark a run finished or failed (it leaves /metrics), or running again."""
    finished_at = None if body.status == "running" else time.time()
    services.store.set_run_status(run.name, body.status, finished_at)
    updated = services.store.get_run(run.name)
    assert updated is not None
    return RunOut.of(updated)


@router.delete(
    "/{run}",
    status_code=204,
    responses={404: {"model": ErrorOut}},
    dependencies=[Depends(require(Scope.ADMIN))],
)
def delete_run(run: RunDep, services: ServicesDep) -> Response:
    services.store.delete_run(run.run_id)
    return Response(status_code=204)
