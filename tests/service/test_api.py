"""The HTTP API over real loopback HTTP against `emwatch serve` (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import torch

from monitor.core.wire import encode_check
from monitor.trainer.client import EmwatchClient, ServiceRejectedError
from tests.factories import HOOKS, direction_vector, make_check
from tests.servers import ServiceProcess
from tests.service.conftest import pack_dir


def _drift(step: int, per_step: float = 3.0) -> dict[str, torch.Tensor]:
    v = direction_vector(0)
    return {HOOKS[0]: (step / 10) * per_step * v / v.norm()}


def _feed(admin: EmwatchClient, run: str, steps: list[int]) -> list[dict[str, object]]:
    return [admin.send_check(run, encode_check(make_check(run, s, shift=_drift(s)))) for s in steps]


def test_health_ready_and_docs(service: ServiceProcess) -> None:
    assert httpx.get(f"{service.url}/v1/health").json()["status"] == "ok"
    assert httpx.get(f"{service.url}/v1/ready").json()["status"] == "ready"
    assert httpx.get(f"{service.url}/docs").status_code == 200
    document = httpx.get(f"{service.url}/openapi.json").json()
    paths = document["paths"]
    assert {
        "/v1/runs",
        "/v1/runs/{run}/checks",
        "/v1/runs/{run}/resume",
        "/v1/probe-packs",
        "/v1/runs/{run}/alerts",
        "/v1/runs/{run}/scores",
    } <= set(paths)


def test_the_openapi_documents_every_error_and_the_bearer_scheme(service: ServiceProcess) -> None:
    document = httpx.get(f"{service.url}/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "HTTPValidationError" not in document["components"]["schemas"]
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            errors = {status: r for status, r in responses.items() if status >= "400"}
            assert "500" in errors, (method, path)
            assert ("503" in errors) == (path != "/v1/health"), (method, path)
            if "503" in errors:
                assert "Retry-After" in errors["503"]["headers"]
            if operation.get("security"):
                assert {"401", "403"} <= set(errors), (method, path)
            for status, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == error, (method, path, status)
    checks = document["paths"]["/v1/runs/{run}/checks"]["post"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "415", "422", "500", "503"} <= set(checks)


def test_pack_registration_is_idempotent_and_immutable(
    admin: EmwatchClient, tmp_path: Path
) -> None:
    first = admin.register_pack(pack_dir(tmp_path, name="pack-a"))
    again = admin.register_pack(tmp_path / "pack")
    assert again["content_hash"] == first["content_hash"]
    other = pack_dir(tmp_path / "other", name="pack-a", with_sae=False)
    with pytest.raises(ServiceRejectedError) as info:
        admin.register_pack(other)
    assert info.value.status == 409 and "immutable" in str(info.value)
    assert "pack-a" in [p["name"] for p in admin.list_packs()]
    assert admin.get_pack("pack-a")["hook_points"][HOOKS[0]] == [  # type: ignore[index]
        "direction:em",
        "latent:5",
        "latent:9",
    ]


def test_run_creation_is_idempotent_and_conflicts_are_named(
    admin: EmwatchClient, pack_name: str
) -> None:
    spec = {"name": "idem", "probe_pack": pack_name, "model_id": "m", "labels": {"team": "a"}}
    created = admin.create_run(spec)
    assert created["status"] == "running" and admin.create_run(spec)["name"] == "idem"
    with pytest.raises(ServiceRejectedError, match="different probe pack, model") as info:
        admin.create_run({**spec, "model_id": "other"})
    assert info.value.status == 409
    with pytest.raises(ServiceRejectedError, match="d_model 16") as info:
        admin.create_run({**spec, "name": "wide", "d_model": 4096})
    assert info.value.status == 422


def test_ingest_scores_detects_and_dedupes(admin: EmwatchClient, run_name: str) -> None:
    results = _feed(admin, run_name, list(range(0, 80, 10)))
    assert results[0]["signals"] and all(s["zscore"] == 0.0 for s in results[0]["signals"])
    firing = [a for a in results[-1]["alerts"] if a["state"] == "firing"]  # type: ignore[union-attr]
    assert {a["feature"] for a in firing} >= {"direction:em", "latent:5"}
    assert all(a["hook_point"] == HOOKS[0] for a in firing)  # layer 2 did not move
    repeat = admin.send_check(run_name, encode_check(make_check(run_name, 30, shift=_drift(30))))
    assert repeat["duplicate"] is True
    run = admin.get_run(run_name)
    assert (run["n_checks"], run["baseline_step"], run["last_step"]) == (8, 0, 70)
    series = admin.scores(run_name, hook_point=HOOKS[0], feature="direction:em")["points"]
    assert [p["step"] for p in series] == list(range(0, 80, 10))
    zs = [p["zscore"] for p in series]
    assert zs == sorted(zs) and zs[-1] > 6
    assert len(series[0]["per_prompt"]) == 6
    alerts = admin.alerts(run_name, state="firing")["alerts"]
    assert {a["severity"] for a in alerts} == {"warning", "critical"}


def test_out_of_order_checks_give_the_in_order_result(admin: EmwatchClient, pack_name: str) -> None:
    steps = list(range(0, 80, 10))
    for name, order in (("ordered", steps), ("shuffled", [30, 0, 70, 10, 60, 20, 50, 40])):
        admin.create_run({"name": name, "probe_pack": pack_name})
        _feed(admin, name, order)

    def summary(run: str) -> tuple[object, ...]:
        points = admin.scores(run)["points"]
        alerts = admin.alerts(run)["alerts"]
        return (
            tuple(
                (p["step"], p["feature"], round(p["zscore"], 9), round(p["cusum"], 9))
                for p in points
            ),
            tuple((a["id"], a["state"], a["firing_step"]) for a in alerts),
        )

    assert summary("shuffled") == summary("ordered")


def test_metrics_expose_run_state_and_drop_finished_runs(
    admin: EmwatchClient, run_name: str, service: ServiceProcess
) -> None:
    _feed(admin, run_name, list(range(0, 80, 10)))
    text = httpx.get(f"{service.url}/metrics").text
    firing = (
        f'emwatch_alert_firing{{feature="direction:em",hook_point="{HOOKS[0]}",'
        f'run="{run_name}",severity="critical"}} 1.0'
    )
    assert firing in text
    assert f'emwatch_run_checks_total{{run="{run_name}"}} 8.0' in text
    assert (
        f'emwatch_score_zscore{{feature="latent:5",hook_point="{HOOKS[0]}",run="{run_name}"}}'
        in text
    )
    assert 'emwatch_checks_received_total{outcome="stored"}' in text
    assert "# TYPE emwatch_ingest_duration_seconds histogram" in text
    admin.set_run_status(run_name, "finished")
    assert f'run="{run_name}"' not in httpx.get(f"{service.url}/metrics").text
    admin.delete_run(run_name)
    with pytest.raises(ServiceRejectedError) as info:
        admin.get_run(run_name)
    assert info.value.status == 404


def test_scoped_tokens(service: ServiceProcess, http: httpx.Client, run_name: str) -> None:
    created = http.post("/v1/tokens", json={"name": "dashboards", "scopes": ["read"]}).json()
    reader = {"Authorization": f"Bearer {created['token']}"}
    assert httpx.get(f"{service.url}/v1/runs/{run_name}", headers=reader).status_code == 200
    denied = httpx.post(
        f"{service.url}/v1/runs", headers=reader, json={"name": "x", "probe_pack": "api-pack"}
    )
    assert denied.status_code == 403 and "needs 'ingest'" in denied.json()["detail"]
    assert http.delete(f"/v1/tokens/{created['id']}").status_code == 204
    revoked = httpx.get(f"{service.url}/v1/runs/{run_name}", headers=reader)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    listed = http.get("/v1/tokens").json()
    assert all("token" not in t and "secret" not in str(t) for t in listed)
