"""Token rules that fit the recommended set-up: a trainer holds an ingest-only token; a run is
changed only by the token that created it or by an admin; the last admin token stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.core.wire import encode_check
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import HOOK_POINTS
from monitor.trainer.client import EmwatchClient
from monitor.trainer.training_monitor import MonitorConfig, TrainingMonitor
from tests.factories import make_check, make_pack
from tests.servers import ADMIN_TOKEN, ServiceProcess, running_service

OCTET = {"Content-Type": "application/octet-stream"}


def _token(http: httpx.Client, name: str, *scopes: str) -> tuple[str, dict[str, str]]:
    created = http.post("/v1/tokens", json={"name": name, "scopes": list(scopes)}).json()
    return created["id"], {"Authorization": f"Bearer {created['token']}"}


def test_a_trainer_with_an_ingest_only_token_registers_by_pack_name(
    service: ServiceProcess, http: httpx.Client, tmp_path: Path
) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    make_pack(
        tmp_path / "pack",
        name="tiny-by-name",
        hooks=HOOK_POINTS,
        d_model=model.config.hidden_size,
        with_sae=False,
    )
    EmwatchClient(service.url, ADMIN_TOKEN).register_pack(tmp_path / "pack")
    token_id, auth = _token(http, "trainer", "ingest")
    config = MonitorConfig(
        url=service.url,
        token=auth["Authorization"].removeprefix("Bearer "),
        run="by-name",
        probe_pack="tiny-by-name",  # a name, not a directory: the trainer asks the service
        check_every=1,
        spool_dir=tmp_path / "spool",
        retry_interval=0.1,
        flush_timeout=30,
    )
    monitor = TrainingMonitor(config, tokenizer)
    monitor.start(model)
    monitor.after_step(model, 1)
    assert monitor.close() is True
    run = http.get("/v1/runs/by-name").json()
    assert (run["n_checks"], run["status"], run["created_by"]) == (2, "finished", token_id)


def test_only_the_creating_token_or_an_admin_changes_a_run(
    service: ServiceProcess, http: httpx.Client, pack_name: str
) -> None:
    _owner_id, owner = _token(http, "team-a", "ingest")
    _other_id, other = _token(http, "team-b", "ingest")
    spec = {"name": "team-a-run", "probe_pack": pack_name}
    assert httpx.post(f"{service.url}/v1/runs", json=spec, headers=owner).status_code == 201
    check = encode_check(make_check("team-a-run", 0))
    url = f"{service.url}/v1/runs/team-a-run"
    refused = [
        httpx.patch(url, json={"status": "finished"}, headers=other),
        httpx.post(f"{url}/resume", json={"from_step": 0}, headers=other),
        httpx.post(f"{url}/checks", content=check, headers={**other, **OCTET}),
        httpx.post(f"{service.url}/v1/runs", json=spec, headers=other),
    ]
    for response in refused:
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "not_run_owner"
        assert "only that token or an admin token may change it" in response.json()["detail"]
    assert httpx.get(url, headers=other).status_code == 200  # reading is not changing
    assert httpx.post(f"{url}/checks", content=check, headers={**owner, **OCTET}).status_code == 201
    assert http.get(url).json()["n_checks"] == 1  # nothing the other token sent was stored
    finished = httpx.patch(url, json={"status": "finished"}, headers=owner)
    assert finished.json()["status"] == "finished"
    reopened = http.patch(url, json={"status": "running"})  # the admin may, too
    assert reopened.json()["status"] == "running"


def test_read_tokens_cannot_read_as_ingest_tokens_do_and_vice_versa(
    service: ServiceProcess, http: httpx.Client, pack_name: str
) -> None:
    _id, ingest = _token(http, "ingest-only", "ingest")
    assert httpx.get(f"{service.url}/v1/probe-packs/{pack_name}", headers=ingest).status_code == 200
    listing = httpx.get(f"{service.url}/v1/probe-packs", headers=ingest)
    assert listing.status_code == 403 and "needs 'read'" in listing.json()["detail"]
    _id, reader = _token(http, "read-only", "read")
    created = httpx.post(
        f"{service.url}/v1/runs", json={"name": "x", "probe_pack": pack_name}, headers=reader
    )
    assert created.status_code == 403 and "needs 'ingest'" in created.json()["detail"]


@pytest.fixture
def own_service(tmp_path: Path) -> Iterator[ServiceProcess]:
    with running_service(tmp_path / "svc") as service:
        yield service


def test_the_last_admin_token_cannot_be_revoked(own_service: ServiceProcess) -> None:
    with httpx.Client(
        base_url=own_service.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as http:
        bootstrap = next(t for t in http.get("/v1/tokens").json() if t["name"] == "bootstrap")
        last = http.delete(f"/v1/tokens/{bootstrap['id']}")
        assert last.status_code == 409 and last.json()["error"] == "last_admin_token"
        assert "create another admin token first" in last.json()["detail"]
        second_id, second = _token(http, "second-admin", "admin")
        assert http.delete(f"/v1/tokens/{bootstrap['id']}").status_code == 204
        alone = httpx.delete(f"{own_service.url}/v1/tokens/{second_id}", headers=second)
        assert alone.status_code == 409
        assert httpx.get(f"{own_service.url}/v1/tokens", headers=second).status_code == 200
