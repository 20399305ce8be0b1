"""HTTP client for the emwatch service, used by the trainer callback and the CLI.

Errors split in two: ``ServiceUnavailableError`` (connection refused, timeouts, 5xx, 429: worth
retrying later, so the callback spools) and ``ServiceRejectedError`` (4xx: the request itself
is wrong; retrying cannot help).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from monitor.core.pack.archive import MEDIA_TYPE as PACK_MEDIA_TYPE
from monitor.core.pack.archive import pack_archive
from monitor.core.wire import MEDIA_TYPE as CHECK_MEDIA_TYPE

_RETRYABLE_STATUS = {408, 429}


class ServiceError(Exception):
    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ServiceUnavailableError(ServiceError):
    """The service could not be reached or failed on its side; try again later."""


class ServiceRejectedError(ServiceError):
    """The service refused the request (4xx); the message says why."""


class EmwatchClient:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EmwatchClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServiceUnavailableError(
                f"emwatch service at {self.url} unreachable: {exc.__class__.__name__}: {exc}"
            ) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
                code, detail = body.get("error"), body.get("detail", response.text)
            except ValueError:
                code, detail = None, response.text[:500]
            message = f"{method} {path} -> {response.status_code}: {detail}"
            if response.status_code >= 500 or response.status_code in _RETRYABLE_STATUS:
                raise ServiceUnavailableError(message, response.status_code, code)
            raise ServiceRejectedError(message, response.status_code, code)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def _get_if_exists(self, path: str) -> dict[str, Any] | None:
        """GET ``path``; None on 404."""
        try:
            result: dict[str, Any] = self._request("GET", path)
        except ServiceRejectedError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    # -- service -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", "/v1/health")
        return result

    # -- probe packs -------------------------------------------------------------------------

    def register_pack(self, directory: str | Path) -> dict[str, Any]:
        result: dict[str, Any] = self._request(
            "POST",
            "/v1/probe-packs",
            content=pack_archive(directory),
            headers={"Content-Type": PACK_MEDIA_TYPE},
        )
        return result

    def get_pack(self, name: str) -> dict[str, Any] | None:
        return self._get_if_exists(f"/v1/probe-packs/{name}")

    def list_packs(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/v1/probe-packs")
        return result

    # -- runs --------------------------------------------------------------------------------

    def create_run(self, spec: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._request("POST", "/v1/runs", json=spec)
        return result

    def set_run_status(self, run: str, status: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("PATCH", f"/v1/runs/{run}", json={"status": status})
        return result

    def get_run(self, run: str) -> dict[str, Any]:
        result: dict[str, Any] = self._request("GET", f"/v1/runs/{run}")
        return result

    def find_run(self, run: str) -> dict[str, Any] | None:
        """The run, or None if the service has none of that name."""
        return self._get_if_exists(f"/v1/runs/{run}")

    def resume_run(self, run: str, from_step: int, *, reopen: bool = False) -> dict[str, Any]:
        """Continue ``run`` from ``from_step``: its checks after that step are superseded (kept
        for audit, left out of scores, alerts and metrics), so a trainer resumed from a
        checkpoint can send those steps again. Idempotent. A finished run stays finished unless
        ``reopen``. Answers the run with ``superseded``, the number of checks this call set
        aside."""
        result: dict[str, Any] = self._request(
            "POST", f"/v1/runs/{run}/resume", json={"from_step": from_step, "reopen": reopen}
        )
        return result

    def list_runs(self, status: str | None = None) -> list[dict[str, Any]]:
        params = {"status": status} if status else None
        result: list[dict[str, Any]] = self._request("GET", "/v1/runs", params=params)
        return result

    def delete_run(self, run: str) -> None:
        self._request("DELETE", f"/v1/runs/{run}")

    # -- checks, scores, alerts --------------------------------------------------------------

    def send_check(self, run: str, body: bytes) -> dict[str, Any]:
        """Send one encoded check; the answer carries its signals and the run's active alerts."""
        result: dict[str, Any] = self._request(
            "POST",
            f"/v1/runs/{run}/checks",
            content=body,
            headers={"Content-Type": CHECK_MEDIA_TYPE},
        )
        return result

    def scores(self, run: str, **filters: Any) -> dict[str, Any]:
        params = {key: value for key, value in filters.items() if value is not None}
        result: dict[str, Any] = self._request("GET", f"/v1/runs/{run}/scores", params=params)
        return result

    def alerts(self, run: str, state: str | None = None) -> dict[str, Any]:
        params = {"state": state} if state else None
        result: dict[str, Any] = self._request("GET", f"/v1/runs/{run}/alerts", params=params)
        return result

    def samples(self, run: str, top: int = 10, since_step: int | None = None) -> dict[str, Any]:
        """The ``top`` training samples that pushed ``run`` furthest towards the misaligned
        persona, over its checks' attribution windows (those at or after ``since_step``), with
        the windows themselves."""
        params = {"top": top, "since_step": since_step}
        result: dict[str, Any] = self._request(
            "GET",
            f"/v1/runs/{run}/samples",
            params={key: value for key, value in params.items() if value is not None},
        )
        return result
