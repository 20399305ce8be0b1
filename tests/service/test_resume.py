"""POST /v1/runs/{run}/resume over real HTTP, on SQLite and PostgreSQL.

Training restarted from a checkpoint: the checks after its step are superseded (kept for
audit, out of every live view), alerts are those of the surviving series, and the steps can be
sent again with new content.
"""

from __future__ import annotations

import httpx
import pytest
import torch

from monitor.core.wire import MAX_STEP, encode_check
from monitor.trainer.client import EmwatchClient
from tests.factories import HOOKS, direction_vector, make_check
from tests.servers import ServiceProcess


def _drift(step: int) -> dict[str, torch.Tensor]:
    v = direction_vector(0)
    return {HOOKS[0]: (step / 10) * 3.0 * v / v.norm()}


def _send(admin: EmwatchClient, run: str, steps: list[int], drift: bool = True) -> None:
    for step in steps:
        shift = _drift(step) if drift else None
        admin.send_check(run, encode_check(make_check(run, step, shift=shift)))


def _resume(http: httpx.Client, run: str, **body: object) -> httpx.Response:
    return http.post(f"/v1/runs/{run}/resume", json=body)


def _alerts(admin: EmwatchClient, run: str) -> list[tuple[object, ...]]:
    return [
        (a["id"], a["state"], a["firing_step"], a["resolved_step"])
        for a in admin.alerts(run)["alerts"]
    ]


def _series(admin: EmwatchClient, run: str) -> list[tuple[object, ...]]:
    return [
        (p["step"], p["hook_point"], p["feature"], round(p["zscore"], 9), round(p["cusum"], 9))
        for p in admin.scores(run)["points"]
    ]


def test_resume_supersedes_later_checks_and_recomputes_alerts(
    admin: EmwatchClient, http: httpx.Client, service: ServiceProcess, pack_name: str
) -> None:
    admin.create_run({"name": "restarted", "probe_pack": pack_name})
    _send(admin, "restarted", list(range(0, 80, 10)))
    assert any(a["state"] == "firing" for a in admin.alerts("restarted")["alerts"])

    response = _resume(http, "restarted", from_step=30)
    assert response.status_code == 200, response.text
    resumed = response.json()
    assert resumed["superseded"] == 4
    assert (resumed["n_checks"], resumed["last_step"], resumed["status"]) == (4, 30, "running")
    assert [(r["from_step"], r["superseded"]) for r in resumed["resumes"]] == [(30, 4)]

    admin.create_run({"name": "until-30", "probe_pack": pack_name})
    _send(admin, "until-30", [0, 10, 20, 30])
    assert _series(admin, "restarted") == _series(admin, "until-30")
    assert _alerts(admin, "restarted") == _alerts(admin, "until-30")

    audit = admin.scores("restarted", include_superseded=True)["points"]
    superseded = sorted({p["step"] for p in audit if p["superseded"]})
    assert superseded == [40, 50, 60, 70]
    assert all(not p["superseded"] for p in audit if p["step"] <= 30)

    metrics = httpx.get(f"{service.url}/metrics").text
    assert 'emwatch_run_checks_total{run="restarted"} 4.0' in metrics
    assert 'emwatch_run_last_step{run="restarted"} 30.0' in metrics


def test_resuming_again_supersedes_nothing(admin: EmwatchClient, http: httpx.Client) -> None:
    admin.create_run({"name": "twice", "probe_pack": "api-pack"})
    _send(admin, "twice", [0, 10, 20])
    first = _resume(http, "twice", from_step=10).json()
    again = _resume(http, "twice", from_step=10).json()
    assert (first["superseded"], again["superseded"]) == (1, 0)
    assert again["resumes"] == first["resumes"]
    assert {k: v for k, v in again.items() if k != "superseded"} == {
        k: v for k, v in first.items() if k != "superseded"
    }
    assert _resume(http, "twice", from_step=MAX_STEP).json()["superseded"] == 0


def test_superseded_steps_take_new_content_and_live_ones_stay_immutable(
    admin: EmwatchClient, http: httpx.Client
) -> None:
    admin.create_run({"name": "redo", "probe_pack": "api-pack"})
    _send(admin, "redo", [0, 10, 20, 30])
    _resume(http, "redo", from_step=10).raise_for_status()
    _send(admin, "redo", [20, 30], drift=False)  # other content at superseded steps: stored
    assert admin.get_run("redo")["n_checks"] == 4
    same = admin.send_check("redo", encode_check(make_check("redo", 20)))
    assert same["duplicate"] is True
    other = http.post(
        "/v1/runs/redo/checks",
        content=encode_check(make_check("redo", 20, seed=5)),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert other.status_code == 409 and other.json()["error"] == "step_conflict"


def test_a_finished_run_stays_finished_unless_reopened(
    admin: EmwatchClient, http: httpx.Client
) -> None:
    admin.create_run({"name": "done", "probe_pack": "api-pack"})
    _send(admin, "done", [0, 10, 20])
    admin.set_run_status("done", "finished")
    kept = _resume(http, "done", from_step=10).json()
    assert (kept["status"], kept["superseded"], kept["last_step"]) == ("finished", 1, 10)
    late = http.post(
        "/v1/runs/done/checks",
        content=encode_check(make_check("done", 20)),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert late.status_code == 409 and late.json()["error"] == "run_not_running"
    reopened = _resume(http, "done", from_step=10, reopen=True).json()
    assert (reopened["status"], reopened["finished_at"], reopened["superseded"]) == (
        "running",
        None,
        0,
    )


def test_resuming_before_the_baseline_empties_the_series(
    admin: EmwatchClient, http: httpx.Client
) -> None:
    admin.create_run({"name": "from-scratch", "probe_pack": "api-pack"})
    _send(admin, "from-scratch", [5, 10])
    emptied = _resume(http, "from-scratch", from_step=0).json()
    assert (emptied["superseded"], emptied["n_checks"], emptied["last_step"]) == (2, 0, None)
    assert emptied["baseline_step"] is None and admin.alerts("from-scratch")["alerts"] == []
    _send(admin, "from-scratch", [5], drift=False)
    assert admin.get_run("from-scratch")["baseline_step"] == 5


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "from_step: Field required"),
        ({"from_step": -1}, "from_step: Input should be greater than or equal to 0"),
        ({"from_step": MAX_STEP + 1}, "from_step: Input should be less than or equal to"),
        ({"from_step": "ten"}, "from_step: Input should be a valid integer"),
        ({"from_step": 3, "reopen": "maybe"}, "reopen: Input should be a valid boolean"),
        ({"from_step": 3, "step": 3}, "step: Extra inputs are not permitted"),
    ],
)
def test_bad_resume_requests_are_named(
    http: httpx.Client, run_name: str, body: dict[str, object], fragment: str
) -> None:
    response = _resume(http, run_name, **body)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"]


def test_resume_of_an_unknown_run(http: httpx.Client) -> None:
    response = _resume(http, "ghost", from_step=3)
    assert response.status_code == 404 and "no run named 'ghost'" in response.json()["detail"]
