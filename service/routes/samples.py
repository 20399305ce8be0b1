"""Which training samples pushed a run towards the misaligned persona, by its checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from monitor.core.wire import MAX_STEP
from service.auth import Scope
from service.openapi import errors
from service.schemas import SampleAttributionOut
from service.services import RunDep, ServicesDep, require

router = APIRouter(prefix="/v1/runs/{run}", tags=["samples"])


@router.get(
    "/samples",
    response_model=SampleAttributionOut,
    responses=errors(404),
    dependencies=[Depends(require(Scope.READ))],
)
def top_samples(
    run: RunDep,
    services: ServicesDep,
    top: Annotated[int, Query(ge=1, le=1000, description="How many samples to list.")] = 10,
    since_step: Annotated[
        int | None, Query(ge=0, le=MAX_STEP, description="Only windows of checks at or after it.")
    ] = None,
) -> SampleAttributionOut:
    """The ``top`` training samples over the run's attribution windows, highest score first.

    Each check may carry a summary of the samples trained on since the check before it: a
    window. Samples are ranked over every selected window's top list, so a dataset index
    trained in several windows (several epochs) is listed once per window it ranked in."""
    windows = services.store.attribution_windows(run.run_id, since_step)
    return SampleAttributionOut.of(run.name, windows, top)
