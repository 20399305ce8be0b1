"""Service load benchmark: SQLite, PostgreSQL with 1 replica and with 3, side by side in one run.

Not a test. Every cell runs the same checks (the same seeds): ``runs`` trainers at once, each
sending its checks one after another (closed loop: the next when the last was answered), to
one replica or round-robin to three behind an imaginary load balancer. Checks are 16 canary
prompts x 3 hook points, float16, at d_model 128 and 4096. Reported per cell: checks/s,
p50/p99 latency, errors, whether every check was stored exactly once, the server's RSS, and a
fingerprint of every run's scores and alerts (the same inputs must give the same alerts on
every backend and replica count). A closed loop measures capacity: its latency is queueing
(runs / checks-per-second), not what a trainer waits. So the same 50 runs are also *paced*,
each sending a check every second, staggered, as trainers checking every step do: their
latency is the wait at that offered load (``--paced-only`` runs just these). Then:

- ``/metrics`` with 1,000 running runs, on every backend (and the same run state from each of
  three replicas);
- where a small check's time goes: decode + score in process, the whole ingest in process
  (database included, no HTTP), one client over HTTP;
- memory: a server's peak RSS for one check of the largest size it takes, and six at once.

    .venv/bin/python bench/service_load.py [--quick] [--paced-only] [--json FILE]

Ratios are what transfer between machines; absolute numbers move with the machine's load.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.servers: the PostgreSQL cluster the test suite uses

from monitor.core.pack import HookPointSpec, load_pack, write_pack  # noqa: E402
from monitor.core.pack.archive import pack_archive  # noqa: E402
from monitor.core.pack.pack import direction_spec, new_provenance  # noqa: E402
from monitor.core.scoring import score_activations  # noqa: E402
from monitor.core.wire import Check, decode_check, encode_check  # noqa: E402
from monitor.fixtures.local_service import LocalService  # noqa: E402
from service.app import create_app  # noqa: E402
from service.check_input import ScoringCopies  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402
from service.store.records import TokenRecord  # noqa: E402
from tests.servers import PostgresCluster  # noqa: E402

N_PROMPTS = 16
HOOKS = ("model.layers.4", "model.layers.8", "model.layers.12")
PROMPT_SET = "c" * 64
OCTET = {"Content-Type": "application/octet-stream"}


# -- what is sent -------------------------------------------------------------------------


def bench_pack(directory: Path, d_model: int) -> Path:
    """Two directions per hook point (6 features), seeded: the same pack in every cell."""
    generator = torch.Generator().manual_seed(d_model)
    vectors = {
        (hook, name): torch.randn(d_model, generator=generator)
        for hook in HOOKS
        for name in ("em", "persona")
    }
    specs = {
        hook: HookPointSpec(
            directions=[direction_spec(n, vectors[(hook, n)], "random") for n in ("em", "persona")]
        )
        for hook in HOOKS
    }
    write_pack(
        directory,
        name=f"bench-{d_model}",
        hook_points=specs,
        directions=vectors,
        provenance=new_provenance("bench/random", d_model, {"method": "random"}),
    )
    return directory


def check_body(run: str, index: int, step: int, d_model: int, pack_dir: Path) -> bytes:
    """Noise, plus a drift along the first direction for every fifth run (so alerts fire)."""
    generator = torch.Generator().manual_seed(index * 100_003 + step)
    activations = {}
    for hook in HOOKS:
        x = torch.randn(N_PROMPTS, d_model, generator=generator)  # [n_prompts, d_model]
        activations[hook] = x.half()
    if index % 5 == 0 and step > 0:
        direction = _first_direction(pack_dir, d_model)
        activations[HOOKS[0]] = (activations[HOOKS[0]].float() + 2.0 * step * direction).half()
    return encode_check(Check(run, step, PROMPT_SET, activations), dtype="float16")


_DIRECTIONS: dict[int, torch.Tensor] = {}


def _first_direction(pack_dir: Path, d_model: int) -> torch.Tensor:
    if d_model not in _DIRECTIONS:
        probe = load_pack(pack_dir).hooks[HOOKS[0]]
        _DIRECTIONS[d_model] = probe.directions[0].unit
    return _DIRECTIONS[d_model]


# -- servers ------------------------------------------------------------------------------


def cpu_seconds(pid: int, children: bool = False) -> float:
    """CPU time a process has used (all its threads; with ``children``, also the reaped
    processes it started, as PostgreSQL's postmaster starts a backend per connection)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_cpu(cluster: PostgresCluster | None) -> float:
    if cluster is None:
        return 0.0
    postmaster, *backends = cluster.pids()
    return cpu_seconds(postmaster, children=True) + sum(cpu_seconds(pid) for pid in backends)


def _proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


@dataclass
class Replicas:
    services: list[LocalService]
    token: str

    @property
    def urls(self) -> list[str]:
        return [service.url for service in self.services]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(s.process.pid) for s in self.services if s.process)

    def rss_mib(self) -> dict[str, list[float]]:
        """Resident memory now and at its peak (VmHWM), per replica."""
        pids = [service.process.pid for service in self.services if service.process]
        return {
            "now": [_proc_kib(pid, "VmRSS") / 1024 for pid in pids],
            "peak": [_proc_kib(pid, "VmHWM") / 1024 for pid in pids],
        }


@contextmanager
def replicas(work: Path, database_url: str | None, count: int, **env: str) -> Iterator[Replicas]:
    token = f"emw_bench{secrets.token_hex(3)}_{secrets.token_urlsafe(24).replace('_', '-')}"
    services = [
        LocalService(work / f"replica-{i}", token, database_url=database_url, extra_env=env)
        for i in range(count)
    ]
    try:
        for service in services:
            service.start()
        yield Replicas(services, token)
    finally:
        for service in services:
            service.stop()


@contextmanager
def database(kind: str, cluster: PostgresCluster | None, name: str) -> Iterator[str | None]:
    """None: the replica's own SQLite file; else a new PostgreSQL database, dropped after."""
    if kind == "sqlite":
        yield None
        return
    assert cluster is not None
    admin = sa.create_engine(
        cluster.url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield cluster.url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


# -- load -----------------------------------------------------------------------------------


@dataclass
class Load:
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]
    errors: list[str]

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "checks": len(self.latencies),
            "seconds": self.seconds,
            "checks_per_s": len(self.latencies) / self.seconds,
            "p50_ms": 1e3 * ordered[len(ordered) // 2],
            "p99_ms": 1e3 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
        }


class Connection:
    """One keep-alive HTTP/1.1 connection, written by hand: a trainer's client, as light as
    can be, since the load generator shares the CPUs with the servers it measures (httpx
    spends ~3 ms of CPU per request, about what a small check costs the service)."""

    IDLE_S = 2.0  # reconnect after this: uvicorn closes connections idle for 5 s

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.last_used = 0.0

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        idle = time.monotonic() - self.last_used > self.IDLE_S
        if self.streams is not None and (idle or self.streams[0].at_eof()):
            self.close()  # as any HTTP client does: never send on a connection the server
            self.streams = None  # may be closing (that race is the client's, not the service's)
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        fields = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        answer = await reader.readexactly(int(fields.get("content-length", "0")))
        self.last_used = time.monotonic()
        if fields.get("connection") == "close":
            writer.close()
            self.streams = None
        return int(lines[0].split()[1]), answer

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


async def _send_all(
    urls: list[str],
    token: str,
    runs: list[str],
    steps: list[int],
    d_model: int,
    pack_dir: Path,
    interval: float | None = None,
) -> Load:
    """Closed loop (``interval`` None): each run sends its next check when the last was
    answered, so latency is queueing at the service's capacity. Paced: each run sends a check
    every ``interval`` seconds, the runs evenly staggered, as trainers checking every step do;
    latency is then what a trainer waits at that offered load."""
    # Encoded before the clock starts: the load generator shares the CPUs with the servers.
    bodies = {
        (run, step): check_body(run, index, step, d_model, pack_dir)
        for index, run in enumerate(runs)
        for step in steps
    }
    turn = itertools.cycle(range(len(urls)))  # round-robin, as a load balancer would
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    headers = {**OCTET, "Authorization": f"Bearer {token}"}

    async def trainer(index: int, run: str) -> None:
        connections = [Connection(url) for url in urls]
        try:
            for k, step in enumerate(steps):
                if interval is not None:
                    due = begin + interval * (k + index / len(runs))
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                started = time.perf_counter()
                try:
                    status, answer = await connections[next(turn)].post(
                        f"/v1/runs/{run}/checks", bodies[(run, step)], headers
                    )
                except (OSError, asyncio.IncompleteReadError) as exc:
                    errors.append(f"{run}@{step}: {type(exc).__name__}: {exc}")
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                if status not in (200, 201):
                    errors.append(f"{run}@{step}: {status} {answer[:200]!r}")
        finally:
            for connection in connections:
                connection.close()

    begin = time.perf_counter()
    await asyncio.gather(*(trainer(index, run) for index, run in enumerate(runs)))
    return Load(time.perf_counter() - begin, latencies, statuses, errors)


def create_runs(url: str, token: str, names: list[str], pack: str) -> None:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        for name in names:
            client.post("/v1/runs", json={"name": name, "probe_pack": pack}).raise_for_status()


def register_pack(url: str, token: str, pack_dir: Path) -> None:
    httpx.post(
        f"{url}/v1/probe-packs",
        content=pack_archive(pack_dir),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-tar"},
        timeout=120,
    ).raise_for_status()


# -- what was stored ------------------------------------------------------------------------


def stored(database_url: str, runs: list[str], steps: list[int]) -> dict[str, Any]:
    """Every check stored exactly once, and a fingerprint of every run's scores and alerts."""
    url = database_url.replace("postgresql://", "postgresql+psycopg://")
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = dict(
            connection.exec_driver_sql(
                "SELECT r.name, count(c.step) FROM runs r LEFT JOIN checks c "
                "ON c.run_id = r.run_id GROUP BY r.name"
            ).all()
        )
        scores = connection.exec_driver_sql(
            "SELECT r.name, s.step, s.hook_point, s.feature, s.zscore, s.cusum FROM scores s "
            "JOIN runs r ON r.run_id = s.run_id ORDER BY 1, 2, 3, 4"
        ).all()
        alerts = connection.exec_driver_sql(
            "SELECT r.name, a.alert_id, a.state, a.firing_step, a.resolved_step FROM alerts a "
            "JOIN runs r ON r.run_id = a.run_id ORDER BY 1, 2"
        ).all()
    engine.dispose()
    digest = hashlib.sha256()
    for row in scores:
        digest.update(repr((*row[:4], round(row[4], 9), round(row[5], 9))).encode())
    for row in alerts:
        digest.update(repr(tuple(row)).encode())
    return {
        "exactly_once": all(counts.get(run) == len(steps) for run in runs),
        "score_rows": len(scores),
        "alerts": len(alerts),
        "firing": sum(row[2] == "firing" for row in alerts),
        "fingerprint": digest.hexdigest()[:16],
    }


def sqlite_url(replica: LocalService) -> str:
    return f"sqlite:///{replica.data_dir / 'emwatch.db'}"


# -- cells ----------------------------------------------------------------------------------


BACKENDS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 3))


def run_cell(
    kind: str,
    count: int,
    n_runs: int,
    d_model: int,
    steps: list[int],
    work: Path,
    cluster: PostgresCluster | None,
    pack_dir: Path,
    interval: float | None = None,
) -> dict[str, Any]:
    paced = "" if interval is None else f"-every{interval:g}s"
    label = f"{kind}-{count}x-{n_runs}runs-d{d_model}{paced}"
    with (
        database(kind, cluster, "bench_" + label.replace("-", "_").replace(".", "_")) as url,
        replicas(work / label, url, count) as servers,
    ):
        register_pack(servers.urls[0], servers.token, pack_dir)
        runs = [f"run-{i:04d}" for i in range(n_runs)]
        create_runs(servers.urls[0], servers.token, runs, f"bench-{d_model}")
        service_cpu, database_cpu = servers.cpu_seconds(), postgres_cpu(cluster if url else None)
        load = asyncio.run(
            _send_all(servers.urls, servers.token, runs, steps, d_model, pack_dir, interval)
        )
        service_cpu = servers.cpu_seconds() - service_cpu
        database_cpu = postgres_cpu(cluster if url else None) - database_cpu
        memory = servers.rss_mib()
        result = {
            "backend": kind,
            "replicas": count,
            "runs": n_runs,
            "d_model": d_model,
            "checks_per_run": len(steps),
            "send_interval_s": interval,  # None: closed loop
            **load.summary(),
            # CPU the service (all replicas) and PostgreSQL spent per check: what the machine's
            # load does not change, unlike latency.
            "service_cpu_ms_per_check": 1e3 * service_cpu / len(load.latencies),
            "postgresql_cpu_ms_per_check": 1e3 * database_cpu / len(load.latencies),
            "rss_mib": memory,
            **stored(url or sqlite_url(servers.services[0]), runs, steps),
        }
        if n_runs == max(CONCURRENCY) and d_model == min(D_MODELS) and interval is None:
            result["metrics_at_1000_runs"] = metrics_at_1000_runs(servers, runs, d_model, pack_dir)
    print(
        f"{label:<38} {result['checks_per_s']:7.1f} checks/s  p50 {result['p50_ms']:7.1f} ms  "
        f"p99 {result['p99_ms']:7.1f} ms  cpu {result['service_cpu_ms_per_check']:.1f}+"
        f"{result['postgresql_cpu_ms_per_check']:.1f} ms  errors {result['errors']}  once "
        f"{result['exactly_once']}  rss peak {max(memory['peak']):.0f} MiB  "
        f"alerts {result['alerts']} ({result['firing']} firing)  {result['fingerprint']}",
        flush=True,
    )
    for error in result["first_errors"]:
        print(f"    error: {error}", flush=True)
    return result


def metrics_at_1000_runs(
    servers: Replicas, runs: list[str], d_model: int, pack_dir: Path
) -> dict[str, Any]:
    """Top the cell's runs up to 1,000 running runs with 2 checks each, then time /metrics."""
    extra = [f"run-{i:04d}" for i in range(len(runs), 1000)]
    create_runs(servers.urls[0], servers.token, extra, f"bench-{d_model}")
    asyncio.run(_send_all(servers.urls, servers.token, extra, [0, 1], d_model, pack_dir))
    timings, bodies = [], []
    for url in servers.urls:
        httpx.get(f"{url}/metrics", timeout=60)  # warm
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            body = httpx.get(f"{url}/metrics", timeout=60).text
            samples.append(time.perf_counter() - started)
        timings.append(statistics.median(samples))
        bodies.append(body)

    def run_state(text: str) -> list[str]:  # process counters differ per replica by design
        return [
            line
            for line in text.splitlines()
            if line.startswith("emwatch_")
            and not line.startswith(("emwatch_checks_received", "emwatch_ingest_duration"))
        ]

    states = [run_state(body) for body in bodies]
    return {
        "running_runs": sum(line.startswith("emwatch_run_info{") for line in states[0]),
        "seconds_median_per_replica": timings,
        "bytes": len(bodies[0].encode()),
        "series": len(states[0]),
        "replicas_agree": all(state == states[0] for state in states),
    }


# -- where a small check's time goes -------------------------------------------------------


def breakdown(work: Path, cluster: PostgresCluster, pack_dirs: dict[int, Path]) -> dict[str, Any]:
    """CPU per small check, layer by layer: decode + score alone; the whole ingest in process
    (store, detector, database) without HTTP; the same checks over HTTP to one replica, one at
    a time, as the replica's own CPU time (and the client's wall-clock latency)."""
    d_model, n = min(D_MODELS), 300
    pack_dir = pack_dirs[d_model]
    bodies = [check_body("solo", 1, step, d_model, pack_dir) for step in range(n)]
    pack = load_pack(pack_dir)
    started = time.process_time()
    for body in bodies:
        score_activations(pack, ScoringCopies(decode_check(bytearray(body))))
    result: dict[str, Any] = {"decode_score_cpu_ms": 1e3 * (time.process_time() - started) / n}
    token = TokenRecord("bench", "bench", "0" * 64, frozenset({"admin"}), 0.0, None)
    for kind in ("sqlite", "postgresql"):
        with database(kind, cluster, f"bench_inprocess_{kind}") as url:
            settings = ServiceSettings(data_dir=work / f"inprocess-{kind}", database_url=url)
            services = create_app(settings).state.services
            services.packs.register(pack_archive(pack_dir))
            services.store.create_run(
                name="solo",
                probe_pack=f"bench-{d_model}",
                model_id="",
                detector_config={},
                labels={},
                prompt_set_hash=None,
                created_at=0.0,
                created_by="bench",
            )
            started = time.process_time()
            for body in bodies:
                services.ingest.ingest("solo", bytearray(body), token)
            result[f"in_process_ingest_cpu_ms_{kind}"] = 1e3 * (time.process_time() - started) / n
            services.store.engine.dispose()
        with (
            database(kind, cluster, f"bench_http_{kind}") as url,
            replicas(work / f"http-{kind}", url, 1) as servers,
        ):
            register_pack(servers.urls[0], servers.token, pack_dir)
            create_runs(servers.urls[0], servers.token, ["solo"], f"bench-{d_model}")
            headers = {**OCTET, "Authorization": f"Bearer {servers.token}"}
            cpu = servers.cpu_seconds()
            with httpx.Client(base_url=servers.urls[0], headers=headers) as client:
                latencies = []
                for body in bodies:
                    started = time.perf_counter()
                    client.post("/v1/runs/solo/checks", content=body).raise_for_status()
                    latencies.append(time.perf_counter() - started)
            result[f"http_service_cpu_ms_{kind}"] = 1e3 * (servers.cpu_seconds() - cpu) / n
            result[f"http_one_client_latency_ms_{kind}"] = 1e3 * statistics.median(latencies)
    print(f"small check breakdown: {json.dumps(result)}", flush=True)
    return result


# -- memory per request ---------------------------------------------------------------------


def memory(work: Path) -> dict[str, Any]:
    """Peak RSS of a SQLite replica for one check of the largest kind it takes (1,024 prompts
    x 3 hook points x d_model 4096, float32: 48 MiB), then six at once."""
    d_model, n_prompts = 4096, 1024
    pack_dir = bench_pack(work / "memory-pack", d_model)
    with replicas(work / "memory", None, 1) as servers:
        register_pack(servers.urls[0], servers.token, pack_dir)
        runs = [f"big-{i}" for i in range(7)]
        create_runs(servers.urls[0], servers.token, runs, f"bench-{d_model}")
        generator = torch.Generator().manual_seed(0)
        activations = {h: torch.randn(n_prompts, d_model, generator=generator) for h in HOOKS}
        bodies = [encode_check(Check(run, 0, PROMPT_SET, activations)) for run in runs]
        headers = {**OCTET, "Authorization": f"Bearer {servers.token}"}
        url = servers.urls[0]
        before = servers.rss_mib()["peak"][0]
        httpx.post(f"{url}/v1/runs/big-0/checks", content=bodies[0], headers=headers, timeout=300)
        one = servers.rss_mib()["peak"][0]

        async def six() -> list[int]:
            async with httpx.AsyncClient(timeout=300) as client:
                answers = await asyncio.gather(
                    *(
                        client.post(f"{url}/v1/runs/{run}/checks", content=body, headers=headers)
                        for run, body in zip(runs[1:], bodies[1:], strict=True)
                    )
                )
            return [answer.status_code for answer in answers]

        statuses = asyncio.run(six())
        after = servers.rss_mib()
    body_mib = len(bodies[0]) / 2**20
    result = {
        "body_mib": body_mib,
        "peak_before_mib": before,
        "one_check_peak_increase_mib": one - before,
        "one_check_increase_over_body": (one - before) / body_mib,
        "six_at_once_peak_increase_mib": after["peak"][0] - before,
        "six_statuses": statuses,
        "rss_after_mib": after["now"][0],
    }
    print(f"memory: {json.dumps(result)}", flush=True)
    return result


# -- main -----------------------------------------------------------------------------------

D_MODELS = (128, 4096)
CONCURRENCY = (50, 500)
PACED_INTERVAL_S = 1.0  # a check every step at one step a second: faster than most training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer checks per run")
    parser.add_argument(
        "--paced-only",
        action="store_true",
        help="only the paced cells: latency at a stated offered load, not at saturation",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    checks_per_run = {50: 6, 500: 2} if args.quick else {50: 24, 500: 3}
    started, load_at_start = time.perf_counter(), os.getloadavg()
    cluster = PostgresCluster()
    cluster.start()
    try:
        with tempfile.TemporaryDirectory(prefix="emwatch-load-") as scratch:
            work = Path(scratch)
            packs = {d: bench_pack(work / f"pack-{d}", d) for d in D_MODELS}
            # What a trainer waits: 50 runs checking every PACED_INTERVAL_S at d_model 128.
            paced = [
                run_cell(
                    kind,
                    count,
                    min(CONCURRENCY),
                    min(D_MODELS),
                    list(range(checks_per_run[min(CONCURRENCY)])),
                    work,
                    cluster,
                    packs[min(D_MODELS)],
                    interval=PACED_INTERVAL_S,
                )
                for kind, count in BACKENDS
            ]
            saturation: dict[str, Any] = {}
            if not args.paced_only:
                saturation["cells"] = [
                    run_cell(
                        kind,
                        count,
                        n_runs,
                        d_model,
                        list(range(checks_per_run[n_runs])),
                        work,
                        cluster,
                        packs[d_model],
                    )
                    for d_model in D_MODELS
                    for n_runs in CONCURRENCY
                    for kind, count in BACKENDS
                ]
                saturation["small_check_breakdown"] = breakdown(work, cluster, packs)
                saturation["memory"] = memory(work)
    finally:
        cluster.remove()
    report = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_average_at_start_and_end": [load_at_start, os.getloadavg()],
            "note": "one machine for load generator, replicas and PostgreSQL (loopback), "
            "shared with other work: see the load averages",
        },
        "shape": {"n_prompts": N_PROMPTS, "hook_points": len(HOOKS), "dtype": "float16"},
        "command": " ".join(["bench/service_load.py", *sys.argv[1:]]),
        "paced_cells": paced,
        **saturation,
        "wall_seconds": time.perf_counter() - started,
    }
    print(f"total {report['wall_seconds']:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
