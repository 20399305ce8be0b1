"""Probe packs: register (upload a tar archive), list, get, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from monitor.core.pack.archive import MEDIA_TYPE
from monitor.core.pack.manifest import SHORT_NAME
from service.auth import Scope
from service.errors import ApiError
from service.openapi import errors
from service.schemas import PackDetailOut, PackOut
from service.services import ServicesDep, require

router = APIRouter(prefix="/v1/probe-packs", tags=["probe packs"])
PackPath = Annotated[str, Path(description="Probe pack name.", pattern=SHORT_NAME.pattern)]

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "description": "The pack directory as a tar archive (`emwatch probes register DIR`).",
        "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "",
    response_model=PackOut,
    status_code=201,
    openapi_extra=_UPLOAD_DOC,
    responses={
        200: {"model": PackOut, "description": "Already registered, same content"},
        **errors(409, 413, 422),
    },
    dependencies=[Depends(require(Scope.INGEST))],
)
async def register_pack(request: Request, response: Response, services: ServicesDep) -> PackOut:
    """Validate a probe pack and register it under the name in its manifest."""
    archive = await request.body()
    record, created = await run_in_threadpool(services.packs.register, archive)
    response.status_code = 201 if created else 200
    return PackOut.of(record)


@router.get("", response_model=list[PackOut], dependencies=[Depends(require(Scope.READ))])
def list_packs(services: ServicesDep) -> list[PackOut]:
    return [PackOut.of(record) for record in services.store.list_packs()]


@router.get(
    "/{name}",
    response_model=PackDetailOut,
    responses=errors(404),
    dependencies=[Depends(require(Scope.READ, Scope.INGEST))],
)
def get_pack(name: PackPath, services: ServicesDep) -> PackDetailOut:
    """A pack; ingest tokens may read it too, so a trainer can register a run by pack name."""
    record = services.store.get_pack(name)
    if record is None:
        raise ApiError(404, "unknown_probe_pack", f"no probe pack named {name!r}")
    return PackDetailOut(**PackOut.of(record).model_dump(), manifest=record.manifest)


@router.delete(
    "/{name}",
    status_code=204,
    responses=errors(404, 409),
    dependencies=[Depends(require(Scope.ADMIN))],
)
def delete_pack(name: PackPath, services: ServicesDep) -> Response:
    if services.store.get_pack(name) is None:
        raise ApiError(404, "unknown_probe_pack", f"no probe pack named {name!r}")
    users = services.store.runs_using_pack(name)
    if users:
        raise ApiError(
            409,
            "pack_in_use",
            f"probe pack {name!r} is used by runs {users}; delete those runs first",
        )
    services.store.delete_pack(name)
    return Response(status_code=204)
