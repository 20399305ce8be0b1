"""Alertmanager's webhook in, and the notifications it delivered out.

Alertmanager authenticates like any client, with a bearer token holding the ``ingest`` scope
(``http_config.authorization.credentials_file`` in its ``webhook_config``): it writes into the
service, as trainers do, and needs nothing more.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from service.auth import Scope
from service.notifications import (
    NotificationListOut,
    NotificationOut,
    WebhookPayload,
    WebhookResult,
    record_delivery,
)
from service.services import ServicesDep, require

router = APIRouter(prefix="/v1", tags=["notifications"])


@router.post(
    "/alertmanager/webhook",
    response_model=WebhookResult,
    dependencies=[Depends(require(Scope.INGEST))],
)
async def alertmanager_webhook(payload: WebhookPayload, services: ServicesDep) -> WebhookResult:
    """Record a delivery from Alertmanager; a repeat of a known alert instance updates it."""
    return await run_in_threadpool(record_delivery, services.store, payload, time.time())


@router.get(
    "/notifications",
    response_model=NotificationListOut,
    dependencies=[Depends(require(Scope.READ))],
)
def list_notifications(
    services: ServicesDep,
    run: Annotated[str | None, Query(max_length=1024)] = None,  # an Alertmanager label value
    status: Literal["firing", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> NotificationListOut:
    """What Alertmanager sent, one entry per alert instance, the latest delivery first."""
    records = services.store.list_notifications(run=run, status=status, limit=limit)
    return NotificationListOut(notifications=[NotificationOut.of(r) for r in records])
