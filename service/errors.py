"""Errors as JSON ``{"error": code, "detail": message}``; never a stack trace to the client.

- ``ApiError``: an expected failure, with its status and code.
- ``DatabaseUnavailableError`` (from the store): 503 ``database_unavailable`` with
  ``Retry-After``; nothing was changed, so a client may simply retry (a trainer's spool does).
  The reason (driver text, host, port) goes to the log in one line, never to the client.
- Anything else is a bug: ``CatchAll`` answers 500 and logs the traceback once. Starlette's
  own handler for ``Exception`` would re-raise it to the server, which logs it a second time
  and drops the connection.
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import AuthError
from service.store.errors import DatabaseUnavailableError

log = logging.getLogger("emwatch.service")


class ApiError(Exception):
    """An expected failure with a status, a machine-readable code and a message for people."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI, retry_after_s: float) -> None:
    retry_after = str(max(1, math.ceil(retry_after_s)))

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.detail)

    @app.exception_handler(AuthError)
    async def _auth_error(_request: Request, exc: AuthError) -> JSONResponse:
        code = "unauthorized" if exc.status == 401 else "forbidden"
        return error_response(exc.status, code, exc.message)

    @app.exception_handler(DatabaseUnavailableError)
    async def _database_unavailable(
        request: Request, exc: DatabaseUnavailableError
    ) -> JSONResponse:
        log.warning(
            "database unavailable: %s %s answered 503 (%s)",
            request.method,
            request.url.path,
            exc.reason,
        )
        return error_response(
            503,
            "database_unavailable",
            f"the service's database is unavailable; nothing was changed: retry in {retry_after} s",
            {"Retry-After": retry_after},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(error.get("type") == "json_invalid" for error in errors):
            return error_response(
                400,
                "invalid_json",
                "the request body is not valid JSON; send one JSON object "
                "(Content-Type: application/json)",
            )
        return error_response(422, "invalid_request", _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            400: "invalid_request",
            404: "not_found",
            405: "method_not_allowed",
        }.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


class CatchAll:
    """Pure ASGI: an unexpected exception becomes a 500 JSON answer, logged once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # too late for an answer: the client sees the connection end
                return
            response = error_response(
                500, "internal_error", "internal error; the service log has details"
            )
            await response(scope, receive, send)
