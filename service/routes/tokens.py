"""API tokens (admin only): create with scopes, list, revoke."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Response

from service.auth import Scope, create_token
from service.errors import ApiError
from service.openapi import errors
from service.schemas import TokenCreate, TokenCreatedOut, TokenOut
from service.services import ServicesDep, require
from service.store.errors import LastAdminTokenError

router = APIRouter(
    prefix="/v1/tokens", tags=["tokens"], dependencies=[Depends(require(Scope.ADMIN))]
)


@router.post("", response_model=TokenCreatedOut, status_code=201)
def create(body: TokenCreate, services: ServicesDep) -> TokenCreatedOut:
    """Create a token; its text is in this response only."""
    token, record = create_token(services.store, body.name, set(body.scopes))
    return TokenCreatedOut(**TokenOut.of(record).model_dump(), token=token)


@router.get("", response_model=list[TokenOut])
def list_tokens(services: ServicesDep) -> list[TokenOut]:
    return [TokenOut.of(record) for record in services.store.list_tokens()]


@router.delete("/{token_id}", status_code=204, responses=errors(404, 409))
def revoke(token_id: str, services: ServicesDep) -> Response:
    """Revoke a token. The last live admin token cannot be revoked: create another first."""
    try:
        revoked = services.store.revoke_token(token_id, time.time())
    except LastAdminTokenError as exc:
        raise ApiError(
            409,
            "last_admin_token",
            f"token {token_id!r} is the last live admin token; revoking it would lock every "
            "admin out for good: create another admin token first (POST /v1/tokens)",
        ) from exc
    if not revoked:
        raise ApiError(404, "unknown_token", f"no live token with id {token_id!r}")
    services.tokens.forget(token_id)  # other replicas follow within EMWATCH_TOKEN_CACHE_S
    return Response(status_code=204)
