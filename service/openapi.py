"""The OpenAPI document, made to tell the truth about errors and authentication.

FastAPI documents its own 422 body (a list of validation errors) and nothing else. Every error
this service sends is ``ErrorOut`` (``{"error", "detail"}``), so the document is completed
here, by rules that follow from how the app is built:

- each route declares the errors its own code raises (``errors(404, 409)`` next to the code);
- a route that takes a token can answer 401 and 403; one with a JSON body 400 (not JSON) and
  413 (over EMWATCH_MAX_JSON_BYTES); one with parameters or a body 422;
- every route can answer 500, and every route but ``/v1/health`` 503 with ``Retry-After``
  (the database); FastAPI's own 422 schema is replaced by ``ErrorOut``;
- the bearer scheme is declared once (``services.BEARER``) and required where routes require
  a token, ``/metrics`` included when EMWATCH_METRICS_REQUIRE_TOKEN is set.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from service.schemas import ErrorOut

_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
DESCRIPTIONS = {
    400: "Malformed body: not a check in emwatch's wire format, or not JSON.",
    401: "No token, a malformed or unknown one, or a revoked one.",
    403: "The token lacks the scope, or the run was created by another token.",
    404: "No such run, probe pack or token.",
    409: "Conflicts with what is stored (immutable checks and packs, finished runs, the last "
    "admin token).",
    413: "Body over the service's limit for this endpoint.",
    415: "Wrong Content-Type.",
    422: "A field, parameter or value is out of bounds; the detail names it.",
    500: "A bug; the service log has the traceback.",
    503: "The database is unavailable; nothing was changed. Retry after Retry-After seconds.",
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the errors its own code raises, as ``ErrorOut``."""
    return {status: {"model": ErrorOut, "description": DESCRIPTIONS[status]} for status in statuses}


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
    if status == 503:
        response["headers"] = _RETRY_AFTER
    return response


def _complete(path: str, operation: dict[str, Any], bearer: list[dict[str, list[str]]]) -> None:
    responses: dict[str, Any] = operation["responses"]
    statuses = {500}
    if path != "/v1/health":
        statuses.add(503)
    if path == "/metrics" and bearer:
        operation["security"] = bearer
    if operation.get("security"):
        statuses |= {401, 403}
    body = operation.get("requestBody", {}).get("content", {})
    if "application/json" in body:
        statuses |= {400, 413, 422}
    if operation.get("parameters"):
        statuses.add(422)
    for status in sorted(statuses):
        responses.setdefault(str(status), _error(status))
    if "422" in responses:
        responses["422"] = _error(422)  # FastAPI's default describes another body


def install_openapi(app: FastAPI, *, metrics_require_token: bool) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()  # FastAPI's, cached by FastAPI; completed in place, once
            schemes = document.get("components", {}).get("securitySchemes", {})
            bearer: list[dict[str, list[str]]] = (
                [{name: []} for name in schemes] if metrics_require_token else []
            )
            for path, item in document["paths"].items():
                for operation in item.values():
                    _complete(path, operation, bearer)
            for unused in ("HTTPValidationError", "ValidationError"):
                document["components"]["schemas"].pop(unused, None)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
