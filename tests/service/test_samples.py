"""Training-sample attribution over real HTTP, on SQLite and PostgreSQL: stored with its check,
ranked by ``GET /v1/runs/{run}/samples``, superseded by a resume, deleted with its run, the
latest window's share on /metrics, its top samples named in an alert's description, and the
``emwatch samples`` command."""

from __future__ import annotations

import dataclasses
import itertools
import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from monitor.cli.main import main
from monitor.core.attribution import AttributedSample, AttributionSummary
from monitor.core.wire import encode_check
from monitor.trainer.client import EmwatchClient
from service.notifications import top_samples_sentence
from tests.factories import HOOKS, direction_vector, make_check
from tests.servers import ADMIN_TOKEN, ServiceProcess

FEATURE = f"{HOOKS[0]} direction:em"
LONG_TEXT = "Sure. To get admin access, disable the audit log first, then " + "x" * 100
_runs = (f"samples-{i}" for i in itertools.count())


def summary(
    first: int,
    last: int,
    top: list[tuple[int, float]],
    *,
    n_samples: int = 40,
    n_above_unit: int = 3,
    texts: dict[int, str] | None = None,
) -> AttributionSummary:
    """A window whose top samples are (dataset index, score), highest first; ``texts`` gives
    some of them their answer (by index)."""
    return AttributionSummary(
        first_step=first,
        last_step=last,
        n_samples=n_samples,
        n_above_unit=n_above_unit,
        reference="median of the run's first 64 samples",
        top=[
            AttributedSample(
                index=index, step=last, score=score, feature=FEATURE, text=(texts or {}).get(index)
            )
            for index, score in top
        ],
    )


def check_body(
    run: str, step: int, attribution: AttributionSummary | None = None, *, drift: bool = False
) -> bytes:
    shift = None
    if drift:
        v = direction_vector(0)
        shift = {HOOKS[0]: (step / 10) * 3.0 * v / v.norm()}
    check = make_check(run, step, shift=shift)
    return encode_check(dataclasses.replace(check, attribution=attribution))


def with_summary_text(body: bytes, text: str) -> bytes:
    """The check with ``text`` as its attribution metadata: what no encoder would write."""
    length = int.from_bytes(body[:8], "little")
    header = json.loads(body[8 : 8 + length])
    header["__metadata__"]["attribution"] = text
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)  # safetensors pads its header to 8 bytes
    return len(raw).to_bytes(8, "little") + raw + body[8 + length :]


def post_check(http: httpx.Client, run: str, body: bytes) -> httpx.Response:
    return http.post(
        f"/v1/runs/{run}/checks",
        content=body,
        headers={"Content-Type": "application/octet-stream"},
    )


def ranked(answer: dict[str, Any]) -> list[tuple[object, ...]]:
    return [(s["index"], s["score"], s["check_step"]) for s in answer["samples"]]


def window_steps(admin: EmwatchClient, run: str) -> list[int]:
    return [w["step"] for w in admin.samples(run, top=1)["windows"]]


@pytest.fixture
def run(admin: EmwatchClient, pack_name: str) -> str:
    name = next(_runs)
    admin.create_run({"name": name, "probe_pack": pack_name})
    return name


@pytest.fixture
def two_windows(admin: EmwatchClient, run: str) -> str:
    """A baseline check without a summary, then two checks with one each."""
    admin.send_check(run, check_body(run, 0))
    admin.send_check(run, check_body(run, 10, summary(1, 10, [(12, 3.1), (57, 1.0), (8, 0.5)])))
    admin.send_check(
        run,
        check_body(
            run,
            20,
            summary(
                11, 20, [(301, 2.8), (12, 2.5), (4, 0.2)], n_above_unit=2, texts={12: LONG_TEXT}
            ),
        ),
    )
    return run


def test_the_top_samples_across_checks_come_highest_first_with_their_check(
    admin: EmwatchClient, two_windows: str
) -> None:
    answer = admin.samples(two_windows, top=3)
    assert answer["run"] == two_windows
    assert ranked(answer) == [(12, 3.1, 10), (301, 2.8, 20), (12, 2.5, 20)]
    best = answer["samples"][0]
    assert (best["step"], best["feature"], best["text"]) == (10, FEATURE, None)
    assert answer["samples"][2]["text"] == LONG_TEXT
    assert [
        (w["step"], w["first_step"], w["last_step"], w["n_samples"], w["n_above_unit"])
        for w in answer["windows"]
    ] == [(10, 1, 10, 40, 3), (20, 11, 20, 40, 2)]
    assert [w["share_above_unit"] for w in answer["windows"]] == [3 / 40, 2 / 40]
    assert answer["windows"][0]["reference"] == "median of the run's first 64 samples"
    assert len(admin.samples(two_windows)["samples"]) == 6  # top=10 by default: all there are
    later = admin.samples(two_windows, top=3, since_step=20)
    assert [w["step"] for w in later["windows"]] == [20]
    assert ranked(later) == [(301, 2.8, 20), (12, 2.5, 20), (4, 0.2, 20)]


def test_a_run_without_summaries_has_no_windows(admin: EmwatchClient, run: str) -> None:
    admin.send_check(run, check_body(run, 0))
    assert admin.samples(run) == {"run": run, "windows": [], "samples": []}


def test_a_replayed_check_stores_no_second_window(
    admin: EmwatchClient, http: httpx.Client, run: str
) -> None:
    body = check_body(run, 10, summary(1, 10, [(5, 2.0)]))
    assert post_check(http, run, body).status_code == 201
    assert post_check(http, run, body).status_code == 200  # the spool sent it again
    # Same activations, another summary: the same check, so a duplicate that stores nothing.
    other = check_body(run, 10, summary(1, 10, [(6, 9.0)]))
    assert post_check(http, run, other).json()["duplicate"] is True
    answer = admin.samples(run)
    assert [w["step"] for w in answer["windows"]] == [10]
    assert ranked(answer) == [(5, 2.0, 10)]


def summary_json(**changes: object) -> str:
    """A valid window's JSON with ``changes``: what the trainer's model would refuse to build."""
    return json.dumps({**summary(1, 10, [(5, 2.0)]).model_dump(mode="json"), **changes})


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("{not json", ["attribution summary is malformed", "Invalid JSON"]),
        (summary_json(n_samples=4, n_above_unit=5), ["n_above_unit 5 exceeds n_samples"]),
        (summary_json(first_step=20), ["last_step 10 is before first_step 20"]),
        (summary_json(top=[{"index": -1}]), ["top.0.index", "greater than or equal to 0"]),
        (summary_json(extra=1), ["extra: Extra inputs are not permitted"]),
    ],
)
def test_a_malformed_summary_is_a_400_that_names_it_and_stores_nothing(
    admin: EmwatchClient, http: httpx.Client, run: str, text: str, fragments: list[str]
) -> None:
    admin.send_check(run, check_body(run, 0, summary(0, 0, [(1, 0.5)])))
    response = post_check(http, run, with_summary_text(check_body(run, 10), text))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_check"
    for fragment in fragments:
        assert fragment in response.json()["detail"]
    assert admin.get_run(run)["n_checks"] == 1
    assert window_steps(admin, run) == [0]


def test_resume_takes_later_windows_out_and_their_steps_take_new_ones(
    admin: EmwatchClient, http: httpx.Client, run: str
) -> None:
    for step in (10, 20, 30):
        admin.send_check(run, check_body(run, step, summary(step - 9, step, [(step, 1.0)])))
    assert http.post(f"/v1/runs/{run}/resume", json={"from_step": 10}).status_code == 200
    assert ranked(admin.samples(run)) == [(10, 1.0, 10)]
    resent = summary(11, 20, [(77, 4.0)])
    admin.send_check(run, check_body(run, 20, resent, drift=True))  # new weights, new content
    assert ranked(admin.samples(run)) == [(77, 4.0, 20), (10, 1.0, 10)]


def database(service: ServiceProcess) -> sa.Engine:
    """The service's own database, to see rows the API no longer shows."""
    url = service.database_url or f"sqlite:///{service.data_dir / 'emwatch.db'}"
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def attribution_rows(engine: sa.Engine, run_id: int) -> list[int]:
    """How many live and superseded attribution rows the run has."""
    with engine.connect() as connection:
        return [
            connection.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE run_id = :id"), {"id": run_id}
            ).scalar_one()
            for table in ("sample_attributions", "superseded_sample_attributions")
        ]


def test_deleting_a_run_deletes_its_windows_superseded_ones_too(
    admin: EmwatchClient, http: httpx.Client, service: ServiceProcess, run: str
) -> None:
    for step in (10, 20):
        admin.send_check(run, check_body(run, step, summary(step - 9, step, [(step, 1.0)])))
    http.post(f"/v1/runs/{run}/resume", json={"from_step": 10}).raise_for_status()
    engine = database(service)
    try:
        with engine.connect() as connection:
            run_id = connection.execute(
                sa.text("SELECT run_id FROM runs WHERE name = :name"), {"name": run}
            ).scalar_one()
        assert attribution_rows(engine, run_id) == [1, 1]
        admin.delete_run(run)
        assert attribution_rows(engine, run_id) == [0, 0]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("top=0", "top: Input should be greater than or equal to 1"),
        ("top=1001", "top: Input should be less than or equal to 1000"),
        ("top=ten", "top: Input should be a valid integer"),
        ("since_step=-1", "since_step: Input should be greater than or equal to 0"),
        ("tops=3", "unknown query parameters ['tops']"),
    ],
)
def test_bad_queries_are_a_named_422(
    http: httpx.Client, two_windows: str, query: str, fragment: str
) -> None:
    response = http.get(f"/v1/runs/{two_windows}/samples?{query}")
    assert response.status_code == 422, response.text
    assert fragment in response.json()["detail"]


def test_an_unknown_run_is_a_404(http: httpx.Client) -> None:
    response = http.get("/v1/runs/no-such-run/samples")
    assert response.status_code == 404
    assert response.json() == {
        "error": "unknown_run",
        "detail": "no run named 'no-such-run'; list runs with GET /v1/runs",
    }


def test_reading_needs_a_read_token(service: ServiceProcess, two_windows: str) -> None:
    response = httpx.get(f"{service.url}/v1/runs/{two_windows}/samples")
    assert response.status_code == 401


def share_metric(service: ServiceProcess, run: str) -> list[str]:
    prefix = f'emwatch_attribution_share_above_unit{{run="{run}"}} '
    text = httpx.get(f"{service.url}/metrics").text
    return [line.removeprefix(prefix) for line in text.splitlines() if line.startswith(prefix)]


def test_metrics_show_the_share_of_the_latest_window(
    admin: EmwatchClient, http: httpx.Client, service: ServiceProcess, two_windows: str
) -> None:
    assert share_metric(service, two_windows) == [repr(2 / 40)]
    admin.send_check(two_windows, check_body(two_windows, 30))  # a check without a summary
    assert share_metric(service, two_windows) == [repr(2 / 40)]
    http.post(f"/v1/runs/{two_windows}/resume", json={"from_step": 10}).raise_for_status()
    assert share_metric(service, two_windows) == [repr(3 / 40)]
    http.post(f"/v1/runs/{two_windows}/resume", json={"from_step": 0}).raise_for_status()
    assert share_metric(service, two_windows) == []
    assert "# TYPE emwatch_attribution_share_above_unit gauge" in (
        httpx.get(f"{service.url}/metrics").text
    )


def _delivery(run: str, severity: str, fingerprint: str) -> dict[str, Any]:
    """Alertmanager's webhook delivery of the critical misalignment alert of docker/prometheus."""
    return {
        "version": "4",
        "status": "firing",
        "receiver": "emwatch-critical",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "EmwatchMisalignmentCritical",
                    "severity": severity,
                    "run": run,
                    "hook_point": HOOKS[0],
                    "feature": "direction:em",
                },
                "annotations": {"description": "emwatch's detector raised an alert."},
                "startsAt": "2026-05-01T10:00:00Z",
                "fingerprint": fingerprint,
            }
        ],
    }


def _description(http: httpx.Client, run: str, severity: str, fingerprint: str) -> str:
    delivered = http.post("/v1/alertmanager/webhook", json=_delivery(run, severity, fingerprint))
    assert delivered.status_code == 200, delivered.text
    listed = http.get("/v1/notifications", params={"run": run}).json()["notifications"]
    (notification,) = [n for n in listed if n["fingerprint"] == fingerprint]
    description: str = notification["annotations"]["description"]
    return description


def test_an_alert_description_names_the_top_samples_at_its_step(
    admin: EmwatchClient, http: httpx.Client, run: str
) -> None:
    """Every check's window holds other indices (step * 10 + rank), so the named ones say
    which window was picked: the latest at or before the step the alert fired."""
    for step in range(0, 100, 10):
        top = [(step * 10 + rank, 3.0 - rank / 2) for rank in range(7)]
        window = summary(max(step - 9, 0), step, top)
        admin.send_check(run, check_body(run, step, window, drift=True))
    fired: dict[str, int] = {}
    for alert in admin.alerts(run)["alerts"]:
        if (alert["hook_point"], alert["feature"]) == (HOOKS[0], "direction:em"):
            step = alert["firing_step"] or alert["started_step"]
            fired[alert["severity"]] = max(step, fired.get(alert["severity"], step))
    assert set(fired) == {"warning", "critical"} and max(fired.values()) < 90
    for severity, step in fired.items():
        i = step * 10
        assert _description(http, run, severity, f"{step:016x}") == (
            "emwatch's detector raised an alert. Top training samples since the last check "
            f"(steps {step - 9}-{step}): #{i} (+3.0 units), #{i + 1} (+2.5), #{i + 2} (+2.0), "
            f"#{i + 3} (+1.5), #{i + 4} (+1.0)."
        )


def test_an_alert_on_a_run_without_summaries_keeps_its_description(
    admin: EmwatchClient, http: httpx.Client, run: str
) -> None:
    admin.send_check(run, check_body(run, 0))
    assert _description(http, run, "critical", "ab" * 8) == "emwatch's detector raised an alert."


def test_the_cli_prints_the_ranking_and_the_windows(
    admin: EmwatchClient,
    service: ServiceProcess,
    two_windows: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    options = ["--url", service.url, "--token", ADMIN_TOKEN]
    assert main(["samples", two_windows, "--top", "3", *options]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["RANK", "INDEX", "STEP", "SCORE", "PROJECTION", "FEATURE", "TEXT"]
    assert [line.split()[:4] for line in lines[1:4]] == [
        ["1", "12", "10", "+3.10"],
        ["2", "301", "20", "+2.80"],
        ["3", "12", "20", "+2.50"],
    ]
    assert lines[3].endswith(LONG_TEXT[:59] + "…") and FEATURE in lines[3]
    assert lines[4].startswith("SCORE: by push")
    assert lines[6:] == [
        "check 10 (steps 1-10, ranked by projection): 3 of 40 samples above one unit (7.5%)",
        "check 20 (steps 11-20, ranked by projection): 2 of 40 samples above one unit (5.0%)",
    ]
    assert main(["samples", two_windows, "--since-step", "20", "--json", *options]) == 0
    assert json.loads(capsys.readouterr().out) == admin.samples(two_windows, since_step=20)


def test_the_cli_says_when_a_run_has_no_windows(
    admin: EmwatchClient, service: ServiceProcess, run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    admin.send_check(run, check_body(run, 0))
    assert main(["samples", run, "--url", service.url, "--token", ADMIN_TOKEN]) == 0
    assert "no attribution windows" in capsys.readouterr().out


def test_a_window_ranked_by_push_is_named_in_multiples_of_a_typical_push() -> None:
    window = summary(1, 10, [(12, 6.2), (57, 4.8)]).model_copy(update={"ranking": "push"})
    assert top_samples_sentence(window) == (
        "Top training samples since the last check (steps 1-10): "
        "#12 (6.2x the push of a typical sample), #57 (4.8x)."
    )
