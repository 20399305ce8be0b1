"""Real Prometheus and Alertmanager on loopback ports, configured from the shipped files.

The configs under docker/ are loaded and only what a test on one machine must change is
changed: addresses (loopback ports instead of compose service names), intervals (seconds
instead of minutes) and the stalled-run threshold. Routing, receivers, inhibitions, recording
and alerting rules stay exactly as shipped.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from tests.observability.tools import ALERTMANAGER_CONFIG, PROMETHEUS_CONFIG, RULES, tool
from tests.servers import free_port

T = TypeVar("T")
SHIPPED_STALL = "emwatch_run_last_check_timestamp_seconds > 1200"


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, every: float = 0.5) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@dataclass
class Daemon:
    """A server binary on a loopback port, logging to a file; ready when ``/-/ready`` is."""

    name: str
    command: list[str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n{self.log_path.read_text()}")
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def start(self) -> Daemon:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        wait_for(f"{self.name} to be ready", self._ready, timeout=30, every=0.2)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def fast_rules(stall_seconds: int) -> str:
    """The shipped rules with the stalled-run threshold lowered from 20 minutes."""
    text = RULES.read_text()
    assert text.count(SHIPPED_STALL) == 1, f"the stalled-run rule no longer reads {SHIPPED_STALL}"
    return text.replace(SHIPPED_STALL, SHIPPED_STALL.replace("1200", str(stall_seconds)))


def prometheus_config(emwatch: str, alertmanager: str, rules: Path, interval: str) -> Any:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"] = {
        "scrape_interval": interval,
        "scrape_timeout": interval,
        "evaluation_interval": interval,
    }
    config["rule_files"] = [str(rules)]
    (manager,) = config["alerting"]["alertmanagers"]
    manager["static_configs"] = [{"targets": [alertmanager]}]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [emwatch]}]
    return config


def alertmanager_config(webhook_url: str, token_file: Path, interval: str) -> Any:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for route in [config["route"], *config["route"]["routes"]]:
        route["group_wait"] = route["group_interval"] = interval
    for receiver in config["receivers"]:
        for webhook in receiver["webhook_configs"]:
            webhook["url"] = webhook_url
            webhook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


@dataclass(frozen=True)
class Stack:
    prometheus: Daemon
    alertmanager: Daemon

    def _prometheus_get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.prometheus.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        assert body.get("status") == "success", f"{path} {params}: {body}"
        return body["data"]

    def query_range(self, expr: str, start: float, end: float, step: float = 1) -> list[Any]:
        """The series ``expr`` returns over [start, end], as Grafana's panels ask for them."""
        data = self._prometheus_get("query_range", query=expr, start=start, end=end, step=step)
        series: list[Any] = data["result"]
        return series

    def label_values(self, selector: str, label: str, start: float, end: float) -> list[str]:
        """Grafana's label_values(selector, label)."""
        values: list[str] = self._prometheus_get(
            f"label/{label}/values", **{"match[]": selector}, start=start, end=end
        )
        return values

    def prometheus_alerts(self, alertname: str, state: str = "firing") -> list[Any]:
        alerts = self._prometheus_get("alerts")["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == alertname and a["state"] == state]

    def alertmanager_alerts(self, alertname: str) -> list[Any]:
        response = httpx.get(
            f"{self.alertmanager.url}/api/v2/alerts",
            params={"filter": f'alertname="{alertname}"'},
            timeout=30,
        )
        response.raise_for_status()
        alerts: list[Any] = response.json()
        return alerts


@contextmanager
def observability_stack(
    work: Path, emwatch_url: str, token: str, *, stall_seconds: int, interval: str = "1s"
) -> Iterator[Stack]:
    """Prometheus scraping ``emwatch_url`` and alerting into Alertmanager, whose receivers
    post to emwatch's webhook with ``token``."""
    work.mkdir(parents=True, exist_ok=True)
    token_file = work / "emwatch_token"
    token_file.write_text(token + "\n")
    rules = work / "emwatch.yml"
    rules.write_text(fast_rules(stall_seconds))
    am_port, prom_port = free_port(), free_port()
    am_config, prom_config = work / "alertmanager.yml", work / "prometheus.yml"
    webhook = f"{emwatch_url}/v1/alertmanager/webhook"
    am_config.write_text(yaml.safe_dump(alertmanager_config(webhook, token_file, interval)))
    emwatch_target = emwatch_url.removeprefix("http://")
    prom_config.write_text(
        yaml.safe_dump(prometheus_config(emwatch_target, f"127.0.0.1:{am_port}", rules, interval))
    )
    alertmanager = Daemon(
        "alertmanager",
        [
            tool("alertmanager", "prometheus-alertmanager"),
            f"--config.file={am_config}",
            f"--storage.path={work / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",  # no HA gossip
        ],
        am_port,
        work / "alertmanager.log",
    )
    prometheus = Daemon(
        "prometheus",
        [
            tool("prometheus"),
            f"--config.file={prom_config}",
            f"--storage.tsdb.path={work / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        prom_port,
        work / "prometheus.log",
    )
    with ExitStack() as stack:
        for daemon in (alertmanager, prometheus):
            stack.callback(daemon.stop)
            daemon.start()
        yield Stack(prometheus, alertmanager)
