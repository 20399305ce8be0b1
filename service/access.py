"""Who may change a run: the ingest token that created it, or an admin.

Scopes say what a token may do in general; this rule says to which runs. A trainer's token can
create runs and send their checks, finish and resume them, but not touch another team's runs
(finishing one takes its firing alerts off /metrics). Runs created before the service recorded
creators (schema revision 0003) have no creator and stay open to any ingest token.
"""

from __future__ import annotations

from service.auth import Scope
from service.errors import ApiError
from service.store.records import RunRecord, TokenRecord


def may_change(token: TokenRecord, run: RunRecord) -> bool:
    return Scope.ADMIN in token.scopes or run.created_by in (None, token.token_id)


def require_run_writer(token: TokenRecord, run: RunRecord) -> None:
    if not may_change(token, run):
        raise ApiError(
            403,
            "not_run_owner",
            f"run {run.name!r} was created by another token (id {run.created_by}); only that "
            f"token or an admin token may change it, and token {token.name!r} is neither",
        )
