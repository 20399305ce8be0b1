"""Database faults and replicas, for real: PostgreSQL stopped (pg_ctl) and hung (SIGSTOP to
every process), SQLite locked by another process, two replicas writing one run.

Each fault must give a 503 ``database_unavailable`` with Retry-After within the configured
timeout, never a 500 or a traceback; ``/v1/health`` must keep answering; the service must
recover without a restart; a trainer's spool must replay what it could not send, each check
stored exactly once.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from monitor.core.wire import encode_check
from monitor.trainer.client import EmwatchClient
from monitor.trainer.sender import CheckSender
from monitor.trainer.spool import Spool
from tests.factories import HOOKS, direction_vector, make_check, make_pack
from tests.servers import ADMIN_TOKEN, PostgresCluster, ServiceProcess
from tests.service.conftest import postgres_database

TIMEOUT_S = 2.0  # EMWATCH_DB_TIMEOUT_S for these services
FAULT_ENV = {"EMWATCH_DB_TIMEOUT_S": str(TIMEOUT_S), "EMWATCH_READY_TIMEOUT_S": "1"}
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
OCTET = {**AUTH, "Content-Type": "application/octet-stream"}


def _body(run: str, step: int) -> bytes:
    v = direction_vector(0)
    shift = {HOOKS[0]: (step / 10) * 3.0 * v / v.norm()}
    return encode_check(make_check(run, step, shift=shift))


def _start(
    data_dir: Path,
    pack_dir: Path,
    database_url: str | None = None,
    env: dict[str, str] = FAULT_ENV,
) -> ServiceProcess:
    service = ServiceProcess(data_dir, database_url=database_url, extra_env=env).start()
    with EmwatchClient(service.url, ADMIN_TOKEN) as client:
        client.register_pack(pack_dir)
    return service


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("fault-pack") / "pack"
    make_pack(directory, name="fault-pack")
    return directory


def _assert_unavailable(response: httpx.Response, took: float) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"] == "database_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    for leak in ("127.0.0.1", "psycopg", "port", "Traceback", "sqlite3"):
        assert leak not in body["detail"]
    assert took < 2 * TIMEOUT_S + 1.5, f"answered after {took:.1f} s"


def _timed(
    request: httpx.Client, method: str, url: str, **kwargs: object
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = request.request(method, url, **kwargs)
    return response, time.monotonic() - started


def _wait_until_ready(http: httpx.Client, within_s: float = 10.0) -> None:
    """Recovery without a restart: ready again within seconds, as a client retrying sees it."""
    deadline = time.monotonic() + within_s
    while http.get("/v1/ready").status_code != 200:
        assert time.monotonic() < deadline, "not ready again after the database came back"
        time.sleep(0.2)


def _log(service: ServiceProcess) -> str:
    assert service.log_path is not None
    return service.log_path.read_text()


def _replay_through_spool(
    service: ServiceProcess,
    run: str,
    steps: list[int],
    spool_dir: Path,
    outage: Callable[[], None],
) -> None:
    """A trainer's sender: checks submitted during ``outage`` (a callable that ends it) are
    spooled, then replayed once the database is back."""
    client = EmwatchClient(service.url, ADMIN_TOKEN, timeout=10)
    sender = CheckSender(
        client,
        run,
        Spool(spool_dir, run),
        setup=lambda _client: None,
        on_result=lambda _step, _result: None,
        retry_interval=0.5,
    )
    sender.start()
    for step in steps:
        sender.submit(step, _body(run, step))
    time.sleep(TIMEOUT_S + 1)  # the sender meets the outage and spools
    outage()
    assert sender.close(timeout=60), "the spool did not drain after the database came back"
    client.close()


# -- PostgreSQL stopped ---------------------------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.remove()


def test_postgresql_stopped_answers_503_and_recovers_without_restart(
    cluster: PostgresCluster, pack_dir: Path, tmp_path: Path
) -> None:
    service = _start(tmp_path / "svc", pack_dir, cluster.url)
    http = httpx.Client(base_url=service.url, timeout=30)
    try:
        http.post("/v1/runs", json={"name": "outage", "probe_pack": "fault-pack"}, headers=AUTH)
        for step in (0, 10):
            assert (
                http.post(
                    "/v1/runs/outage/checks", content=_body("outage", step), headers=OCTET
                ).status_code
                == 201
            )
        cluster.stop()
        for method, url, kwargs in (
            ("POST", "/v1/runs/outage/checks", {"content": _body("outage", 20), "headers": OCTET}),
            ("GET", "/v1/runs", {"headers": AUTH}),
            ("GET", "/metrics", {}),
            ("GET", "/v1/ready", {}),  # no token: must not learn the driver's text either
        ):
            response, took = _timed(http, method, url, **kwargs)
            _assert_unavailable(response, took)
        health, took = _timed(http, "GET", "/v1/health")
        assert health.status_code == 200 and took < 0.5

        _replay_through_spool(service, "outage", [20, 30, 40], tmp_path / "spool", cluster.start)

        run = http.get("/v1/runs/outage", headers=AUTH).json()
        assert (run["n_checks"], run["last_step"]) == (5, 40)
        steps = [
            p["step"] for p in http.get("/v1/runs/outage/scores", headers=AUTH).json()["points"]
        ]
        assert sorted(set(steps)) == [0, 10, 20, 30, 40] and len(steps) == 5 * 4  # 4 features
        assert http.get("/v1/ready").status_code == 200
    finally:
        http.close()
        service.stop()
    log = _log(service)
    assert "Traceback" not in log
    # one line per failed request (the sender's own retries add POST lines of their own)
    assert log.count("GET /v1/runs answered 503") == 1
    assert log.count("GET /metrics answered 503") == 1
    assert log.count("GET /v1/ready answered 503") == 1


# -- PostgreSQL hung ------------------------------------------------------------------------


def test_postgresql_hung_answers_503_within_the_timeout_and_health_stays_up(
    cluster: PostgresCluster, pack_dir: Path, tmp_path: Path
) -> None:
    service = _start(tmp_path / "svc", pack_dir, cluster.url)
    http = httpx.Client(base_url=service.url, timeout=60)
    try:
        http.post("/v1/runs", json={"name": "hang", "probe_pack": "fault-pack"}, headers=AUTH)
        assert (
            http.post("/v1/runs/hang/checks", content=_body("hang", 0), headers=OCTET).status_code
            == 201
        )
        cluster.freeze()
        try:

            def stuck(step: int) -> tuple[httpx.Response, float]:
                with httpx.Client(base_url=service.url, timeout=60) as own:
                    if step % 2:
                        return _timed(own, "GET", "/v1/runs", headers=AUTH)
                    return _timed(
                        own,
                        "POST",
                        "/v1/runs/hang/checks",
                        content=_body("hang", 10 * step + 10),
                        headers=OCTET,
                    )

            with ThreadPoolExecutor(45) as pool:
                pending = [pool.submit(stuck, i) for i in range(45)]
                time.sleep(0.5)  # every worker thread is now waiting on the database
                health, took = _timed(http, "GET", "/v1/health")
                assert health.status_code == 200 and took < 1.0, took
                ready, took = _timed(http, "GET", "/v1/ready")
                assert ready.status_code == 503 and took < 3.0, took
                answers = [future.result() for future in pending]
            statuses = sorted({response.status_code for response, _ in answers})
            assert statuses == [503], statuses
            slowest = max(took for _, took in answers)
            # 45 requests, each bounded by the timeout; waiting for a connection is bounded too
            assert slowest < 3 * TIMEOUT_S + 2, slowest
            for response, _took in answers:
                assert response.json()["error"] == "database_unavailable"
            # A trainer's checks meet the hung database, spool, and are replayed after it.
            _replay_through_spool(service, "hang", [10, 20, 30], tmp_path / "spool", cluster.thaw)
        finally:
            cluster.thaw()  # again, if the test failed before the replay did
        _wait_until_ready(http)
        run = http.get("/v1/runs/hang", headers=AUTH).json()
        assert (run["n_checks"], run["last_step"]) == (4, 30)
        steps = [p["step"] for p in http.get("/v1/runs/hang/scores", headers=AUTH).json()["points"]]
        assert sorted(set(steps)) == [0, 10, 20, 30] and len(steps) == 4 * 4
    finally:
        http.close()
        service.stop()
    assert "Traceback" not in _log(service)


# -- SQLite locked by another process -------------------------------------------------------


def test_sqlite_locked_by_another_process_fails_readiness_and_answers_503(
    pack_dir: Path, tmp_path: Path
) -> None:
    service = _start(tmp_path / "svc", pack_dir)
    http = httpx.Client(base_url=service.url, timeout=30)
    try:
        http.post("/v1/runs", json={"name": "locked", "probe_pack": "fault-pack"}, headers=AUTH)
        assert http.get("/v1/ready").status_code == 200
        other = sqlite3.connect(tmp_path / "svc" / "emwatch.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            ready, took = _timed(http, "GET", "/v1/ready")
            assert ready.status_code == 503 and took < 3.0
            check, took = _timed(
                http, "POST", "/v1/runs/locked/checks", content=_body("locked", 0), headers=OCTET
            )
            _assert_unavailable(check, took)
            assert http.get("/v1/runs", headers=AUTH).status_code == 200  # readers go on (WAL)
        finally:
            other.execute("ROLLBACK")
            other.close()
        _wait_until_ready(http)
        again = http.post("/v1/runs/locked/checks", content=_body("locked", 0), headers=OCTET)
        assert again.status_code == 201
        assert http.get("/v1/runs/locked", headers=AUTH).json()["n_checks"] == 1
    finally:
        http.close()
        service.stop()
    assert "Traceback" not in _log(service)


# -- two replicas, one run ------------------------------------------------------------------


def _hammer(replicas: list[ServiceProcess], runs: list[str], steps: list[int]) -> list[int]:
    """Every check of every run sent twice at once, to two different replicas."""
    jobs = [
        (replicas[(i + copy) % len(replicas)].url, run, step)
        for run in runs
        for i, step in enumerate(steps)
        for copy in (0, 1)
    ]

    def send(job: tuple[str, str, int]) -> int:
        url, run, step = job
        with httpx.Client(timeout=60) as client:
            return client.post(
                f"{url}/v1/runs/{run}/checks", content=_body(run, step), headers=OCTET
            ).status_code

    with ThreadPoolExecutor(40) as pool:
        return list(pool.map(send, jobs))


def _outcome(service: ServiceProcess, run: str) -> tuple[object, ...]:
    with EmwatchClient(service.url, ADMIN_TOKEN) as client:
        points = client.scores(run)["points"]
        alerts = client.alerts(run)["alerts"]
        n_checks = client.get_run(run)["n_checks"]
    return (
        n_checks,
        [
            (p["step"], p["hook_point"], p["feature"], round(p["zscore"], 9), round(p["cusum"], 9))
            for p in points
        ],
        [(a["id"], a["state"], a["firing_step"], a["resolved_step"]) for a in alerts],
    )


def _two_replicas_on_one_run(postgres_url: str, pack_dir: Path, runs: int, checks: int) -> None:
    steps = list(range(0, 10 * checks, 10))
    with postgres_database(postgres_url) as url, tempfile.TemporaryDirectory() as scratch:
        # Default settings: contention on one run's lock is no fault, and waits for it count
        # towards EMWATCH_DB_TIMEOUT_S (5 s), which the shortened fault timeout would not fit.
        replicas = [_start(Path(scratch) / f"r{i}", pack_dir, url, env={}) for i in range(2)]
        try:
            names = [f"hammered-{i}" for i in range(runs)]
            with EmwatchClient(replicas[0].url, ADMIN_TOKEN) as client:
                for name in [*names, "in-order"]:
                    client.create_run({"name": name, "probe_pack": "fault-pack"})
                for step in steps:
                    client.send_check("in-order", _body("in-order", step))
            statuses = _hammer(replicas, names, steps)
            assert sorted(set(statuses)) == [200, 201]
            assert statuses.count(201) == runs * checks  # each check stored exactly once
            expected = _outcome(replicas[0], "in-order")
            for name in names:
                assert _outcome(replicas[1], name) == expected
        finally:
            for replica in replicas:
                replica.stop()
        for replica in replicas:
            assert "Traceback" not in _log(replica)


def test_two_replicas_hammering_one_run(postgres_url: str, pack_dir: Path) -> None:
    _two_replicas_on_one_run(postgres_url, pack_dir, runs=1, checks=40)


@pytest.mark.slow
def test_two_replicas_hammering_ten_runs(postgres_url: str, pack_dir: Path) -> None:
    _two_replicas_on_one_run(postgres_url, pack_dir, runs=10, checks=40)
