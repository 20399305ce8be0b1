"""Alertmanager's webhook over real HTTP, on SQLite and a real PostgreSQL (tests/service's
``service`` and ``http`` fixtures, through conftest.py).

Each alert instance (fingerprint + startsAt) is recorded once however often Alertmanager
delivers it; resolution updates it; bad input gets a 4xx that names the problem.
"""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.servers import ServiceProcess

WEBHOOK = "/v1/alertmanager/webhook"
_runs = (f"am-run-{i}" for i in itertools.count())
_fingerprints = (f"{i:016x}" for i in itertools.count(0xA1B2C3D4E5F60000))


def alert(
    run: str,
    *,
    fingerprint: str,
    status: str = "firing",
    starts_at: str = "2026-05-01T10:00:00.123456789Z",
    ends_at: str = "0001-01-01T00:00:00Z",
) -> dict[str, Any]:
    """An alert as Alertmanager 0.25 sends it."""
    return {
        "status": status,
        "labels": {
            "alertname": "EmwatchMisalignmentCritical",
            "severity": "critical",
            "run": run,
            "hook_point": "model.layers.12",
            "feature": "direction:em",
        },
        "annotations": {"summary": f"Run {run} is turning misaligned", "dashboard": "http://g/d"},
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        "fingerprint": fingerprint,
    }


def delivery(*alerts: dict[str, Any], receiver: str = "emwatch-critical") -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}/{severity="critical"}:{alertname="EmwatchMisalignmentCritical"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": {"alertname": "EmwatchMisalignmentCritical"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def notifications(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    response = client.get("/v1/notifications", params=params)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["notifications"]
    return listed


def post(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(WEBHOOK, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_delivery_is_recorded_with_what_was_sent(http: httpx.Client) -> None:
    run, fingerprint = next(_runs), next(_fingerprints)
    sent = alert(run, fingerprint=fingerprint)
    assert post(http, delivery(sent)) == {"received": 1, "new": 1, "truncated_alerts": 0}
    (recorded,) = notifications(http, run=run)
    assert recorded["fingerprint"] == fingerprint
    assert recorded["alertname"] == "EmwatchMisalignmentCritical"
    assert (recorded["status"], recorded["severity"]) == ("firing", "critical")
    assert (recorded["run"], recorded["hook_point"]) == (run, "model.layers.12")
    assert recorded["labels"] == sent["labels"]
    assert recorded["annotations"] == sent["annotations"]
    assert recorded["starts_at"] == "2026-05-01T10:00:00.123456Z"
    assert recorded["ends_at"] is None  # Go's zero time: not ended
    assert recorded["receiver"] == "emwatch-critical" and recorded["deliveries"] == 1


def test_repeats_are_one_instance(http: httpx.Client) -> None:
    run, fingerprint = next(_runs), next(_fingerprints)
    body = delivery(alert(run, fingerprint=fingerprint))
    assert post(http, body)["new"] == 1
    assert post(http, body)["new"] == 0  # repeat_interval, or a retry
    assert post(http, body)["new"] == 0
    (recorded,) = notifications(http, run=run)
    assert recorded["deliveries"] == 3


def test_concurrent_deliveries_of_a_new_instance_make_one_record(
    service: ServiceProcess, http: httpx.Client
) -> None:
    run = next(_runs)
    body = delivery(alert(run, fingerprint=next(_fingerprints)))
    headers = dict(http.headers)

    def deliver(_: int) -> int:
        with httpx.Client(base_url=service.url, headers=headers, timeout=30) as client:
            return int(post(client, body)["new"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(deliver, range(8))) == 1
    (recorded,) = notifications(http, run=run)
    assert recorded["deliveries"] == 8


def test_resolution_updates_the_instance_and_is_never_undone(http: httpx.Client) -> None:
    run, fingerprint = next(_runs), next(_fingerprints)
    firing = alert(run, fingerprint=fingerprint)
    resolved = alert(
        run, fingerprint=fingerprint, status="resolved", ends_at="2026-05-01T10:30:00Z"
    )
    post(http, delivery(firing))
    assert post(http, delivery(resolved))["new"] == 0
    post(http, delivery(firing))  # a late retry of the firing notification
    (recorded,) = notifications(http, run=run)
    assert recorded["status"] == "resolved"
    assert recorded["ends_at"] == "2026-05-01T10:30:00Z"
    assert recorded["deliveries"] == 3
    assert notifications(http, run=run, status="firing") == []


def test_a_new_start_is_a_new_instance(http: httpx.Client) -> None:
    run, fingerprint = next(_runs), next(_fingerprints)
    first = alert(run, fingerprint=fingerprint)
    again = alert(run, fingerprint=fingerprint, starts_at="2026-05-01T12:00:00Z")
    assert post(http, delivery(first, again)) == {"received": 2, "new": 2, "truncated_alerts": 0}
    starts = sorted(n["starts_at"] for n in notifications(http, run=run))
    assert starts == ["2026-05-01T10:00:00.123456Z", "2026-05-01T12:00:00Z"]
    assert len(notifications(http, run=run, limit="1")) == 1


def test_alerts_from_other_systems_are_recorded_too(http: httpx.Client) -> None:
    """Any label set Alertmanager may forward fits, e.g. a run label longer than run names."""
    sent = alert("x" * 1000, fingerprint=next(_fingerprints))
    sent["labels"] |= {"alertname": "NodeDown", "hook_point": "h" * 1000, "severity": "page"}
    assert post(http, delivery(sent))["new"] == 1
    (recorded,) = notifications(http, run="x" * 1000)
    assert (recorded["alertname"], recorded["severity"]) == ("NodeDown", "page")


def test_webhook_needs_an_ingest_token_and_the_list_a_read_token(
    http: httpx.Client,
    service: ServiceProcess,
) -> None:
    tokens = {
        scope: http.post("/v1/tokens", json={"name": f"am-{scope}", "scopes": [scope]}).json()[
            "token"
        ]
        for scope in ("ingest", "read")
    }
    body = delivery(alert(next(_runs), fingerprint=next(_fingerprints)))

    def as_token(token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=service.url, headers=headers, timeout=30)

    with as_token(None) as anonymous:
        assert anonymous.post(WEBHOOK, json=body).status_code == 401
        assert anonymous.get("/v1/notifications").status_code == 401
    with as_token(tokens["read"]) as reader:
        response = reader.post(WEBHOOK, json=body)
        assert response.status_code == 403 and "needs 'ingest'" in response.json()["detail"]
        assert reader.get("/v1/notifications").status_code == 200
    with as_token(tokens["ingest"]) as alertmanager:
        assert alertmanager.post(WEBHOOK, json=body).status_code == 200
        assert alertmanager.get("/v1/notifications").status_code == 403


def _bad(**changes: Any) -> bytes:
    """A valid delivery with one part broken: ``alert__x`` changes the alert's field x."""
    sent = alert("am-bad", fingerprint="00000000000000ff")
    body = delivery(sent)
    for key, value in changes.items():
        target, field = (sent, key[len("alert__") :]) if key.startswith("alert__") else (body, key)
        if value is None:
            del target[field]
        else:
            target[field] = value
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "status", "fragments"),
    [
        (b"not json", 400, ["not valid JSON"]),
        (b"[]", 422, ["valid dictionary"]),
        (_bad(version="3"), 422, ["version", "'4'"]),
        (_bad(alerts=None), 422, ["alerts", "required"]),
        (_bad(receiver=""), 422, ["receiver"]),
        (_bad(alert__fingerprint="not-hex!"), 422, ["fingerprint"]),
        (_bad(alert__labels={"run": "x"}), 422, ["alertname"]),
        (_bad(alert__startsAt="2026-05-01T10:00:00"), 422, ["startsAt", "timezone"]),
        (_bad(alert__startsAt="yesterday"), 422, ["startsAt"]),
        (_bad(alert__status="exploded"), 422, ["status"]),
        (_bad(alert__labels={"alertname": "A", "x": "v" * 5000}), 422, ["labels"]),
        (_bad(alert__labels={"alertname": "A", "x": "a\x00b"}), 422, ["labels"]),
        (_bad(receiver="critical\x00"), 422, ["receiver"]),
        (_bad(alerts=[alert("r", fingerprint="1")] * 1001), 422, ["alerts", "1000"]),
        (b"{" + b" " * (2 * 1024 * 1024) + b"}", 413, ["at most"]),
    ],
)
def test_bad_input_is_a_clear_4xx_and_stores_nothing(
    http: httpx.Client, body: bytes, status: int, fragments: list[str]
) -> None:
    before = notifications(http, limit="1000")
    response = http.post(WEBHOOK, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    error = response.json()
    assert set(error) == {"error", "detail"}
    for fragment in fragments:
        assert fragment in error["detail"], error["detail"]
    assert notifications(http, limit="1000") == before
