"""Request-size limits as pure ASGI middleware, and reading a body without a second copy.

It rejects an oversized body from its Content-Length before the app sees it, and counts bytes
as they stream in for chunked bodies, so no request can make the service buffer more than the
limit. Pure ASGI (not BaseHTTPMiddleware) keeps streaming intact and costs nothing per chunk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLargeError(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, default_limit: int, limits: Mapping[str, int]) -> None:
        """``limits`` maps a path suffix (e.g. ``/checks``) to its own limit in bytes."""
        self.app = app
        self.default_limit = default_limit
        self.limits = dict(limits)

    def limit_for(self, path: str) -> int:
        for suffix, limit in self.limits.items():
            if path.rstrip("/").endswith(suffix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(send, limit, int(declared))
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLargeError:
            if not response_started:
                await _reject(send, limit, received)


async def _reject(send: Send, limit: int, size: int) -> None:
    body = json.dumps(
        {
            "error": "body_too_large",
            "detail": f"request body is {size} bytes or more; this endpoint accepts at most "
            f"{limit} bytes (raise the service's EMWATCH_MAX_*_BYTES setting, or send less: e.g. "
            "fewer canary prompts, or float16 activations)",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(request: Request) -> bytearray:
    """The request body in one writable buffer, filled as it streams in.

    Starlette's ``request.body()`` keeps every chunk and then joins them, holding the body
    twice; this allocates it once (its size is known from Content-Length, already checked
    against the limit) and lets decoded tensors view it in place.
    """
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
        return body
    body = bytearray(int(declared))
    filled = 0
    async for chunk in request.stream():
        body[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
    del body[filled:]  # a client that sent less than it declared
    return body
