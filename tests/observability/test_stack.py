"""The whole observability path, every part real.

A real ``transformers.Trainer`` fine-tunes the tiny Llama with the emwatch callback, streaming
to ``emwatch serve``; a real Prometheus scrapes the service every second with the shipped rules
and alerts into a real Alertmanager with the shipped routing, whose webhook posts back to the
service. The trainer then dies without finishing its run. Asserted:

- the critical misalignment alert reaches Alertmanager and its notification lands in the
  service (GET /v1/notifications), with run and hook-point labels and a Grafana link;
- the stalled-run alert fires once the trainer stops sending, and not while it was sending;
- every query of every dashboard panel, annotation and variable returns data.

Only the timings differ from the shipped configs (see stack.py): 1 s intervals, and a run
counts as stalled after 10 s of silence instead of 20 minutes.
"""

from __future__ import annotations

import json
import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import HOOK_POINTS, build_diffing_pack, make_trainer
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.training_monitor import MonitorConfig
from tests.observability.dashboard_queries import queries, substitute, variable_queries
from tests.observability.render import render_dashboard
from tests.observability.stack import Stack, observability_stack, wait_for
from tests.observability.tools import DASHBOARDS
from tests.servers import ADMIN_TOKEN, running_service

RUN = "stack-e2e"
STALL_SECONDS = 10
RATE_INTERVAL = "4s"  # Grafana's $__rate_interval for a 1 s scrape: 4 scrape intervals


class TrainerCrashedError(RuntimeError):
    pass


class CrashAfterCritical(TrainerCallback):
    """Kills training ``after`` steps past the first critical alert emwatch reports, before
    the callback can finish the run: the trainer just stops sending, as a crashed job does."""

    def __init__(self, emwatch: EmwatchCallback, after: int) -> None:
        self.emwatch, self.after = emwatch, after
        self.critical_at: int | None = None

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        latest = self.emwatch.monitor.latest if self.emwatch.monitor else None
        firing = [a for a in (latest or {}).get("alerts", []) if a["state"] == "firing"]
        if self.critical_at is None and any(a["severity"] == "critical" for a in firing):
            self.critical_at = state.global_step
        if self.critical_at is not None and state.global_step >= self.critical_at + self.after:
            raise TrainerCrashedError(f"simulated crash at step {state.global_step}")


class Paced(TrainerCallback):
    """Slows the tiny model's steps down so that every check (2 steps) spans more than one
    1 s scrape: Prometheus then sees each check, as with a real model's minutes per check."""

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        time.sleep(0.6)


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _notifications(http: httpx.Client, alertname: str) -> list[dict[str, Any]]:
    listed = http.get("/v1/notifications", params={"run": RUN}).json()["notifications"]
    return [n for n in listed if n["alertname"] == alertname]


def _train_until_crash(service_url: str, work: Path) -> EmwatchCallback:
    pack = build_diffing_pack(work / "pack", work / "pilot", seed=0, pilot_steps=10)
    model, tokenizer = build_tiny_llama(seed=0)
    emwatch = EmwatchCallback(
        MonitorConfig(
            url=service_url,
            token=ADMIN_TOKEN,
            run=RUN,
            probe_pack=pack.directory,
            check_every=2,
            spool_dir=work / "spool",
            model_id="emwatch/tiny-llama",
            retry_interval=0.2,
            attribution=True,
        )
    )
    trainer = make_trainer(
        model,
        tokenizer,
        work / "out",
        max_steps=300,
        seed=0,
        callbacks=[emwatch, CrashAfterCritical(emwatch, after=12), Paced()],
    )
    with pytest.raises(TrainerCrashedError):
        trainer.train()
    assert emwatch.monitor is not None and emwatch.monitor.sender is not None
    assert emwatch.monitor.sender.close(30), "every check sent must reach the service"
    return emwatch


def _dashboard_failures(stack: Stack, start: float, end: float, pictures: Path) -> list[str]:
    """Queries of the committed dashboards that return no data; draws each dashboard."""
    failures = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text())
        values: dict[str, list[str]] = {}
        for name, (selector, label) in variable_queries(dashboard).items():
            found = stack.label_values(substitute(selector, values, ""), label, start, end)
            if not found or (name == "run" and RUN not in found):
                failures.append(f"{path.name}: variable {name}: {selector} gave {found}")
            values[name] = [RUN] if name == "run" else found
        for query in queries(dashboard):
            expr = substitute(query.expr, values, RATE_INTERVAL)
            if not any(series["values"] for series in stack.query_range(expr, start, end)):
                failures.append(f"{query.where}: no data for {expr}")
        render_dashboard(dashboard, stack, values, start, end, pictures / f"{path.stem}.png")
    return failures


def test_training_run_alerts_through_prometheus_and_alertmanager(tmp_path: Path) -> None:
    pictures = Path(os.environ.get("EMWATCH_DASHBOARD_PICTURES") or tmp_path / "pictures")
    pictures.mkdir(parents=True, exist_ok=True)
    with (
        running_service(tmp_path / "service") as service,
        httpx.Client(
            base_url=service.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
        ) as admin,
    ):
        ingest_token = admin.post(
            "/v1/tokens", json={"name": "alertmanager", "scopes": ["ingest"]}
        ).json()["token"]
        with observability_stack(
            tmp_path / "stack", service.url, ingest_token, stall_seconds=STALL_SECONDS
        ) as stack:
            started = time.time()
            _train_until_crash(service.url, tmp_path)
            crashed = time.time()
            run = admin.get(f"/v1/runs/{RUN}").json()
            assert run["status"] == "running", "a crashed trainer leaves its run running"
            last_check_at = _seconds(run["last_check_at"])

            # The critical alert: Prometheus -> Alertmanager -> webhook -> the service.
            paged = wait_for(
                "the critical alert in Alertmanager",
                lambda: [
                    a
                    for a in stack.alertmanager_alerts("EmwatchMisalignmentCritical")
                    if a["labels"].get("run") == RUN
                ],
                timeout=60,
            )
            assert {a["labels"]["hook_point"] for a in paged} <= set(HOOK_POINTS)
            assert all(a["labels"]["severity"] == "critical" for a in paged)
            delivered = wait_for(
                "the critical alert's webhook in the service",
                lambda: _notifications(admin, "EmwatchMisalignmentCritical"),
                timeout=30,
            )
            assert {n["fingerprint"] for n in delivered} <= {a["fingerprint"] for a in paged}
            note = delivered[0]
            assert (note["status"], note["receiver"]) == ("firing", "emwatch-critical")
            assert note["hook_point"] in HOOK_POINTS and note["severity"] == "critical"
            assert note["annotations"]["summary"].startswith(f"Run {RUN} is turning misaligned")
            description = note["annotations"]["description"]
            assert re.search(r"at training step \d+:", description)
            # Prometheus' rule reads the attribution share; the service adds the samples.
            assert f"`emwatch samples {RUN}` names them." in description
            assert "Top training samples since the last check (steps " in description
            assert (
                f"/d/emwatch-run/emwatch-run?var-run={RUN}&var-hook_point={note['hook_point']}"
                in note["annotations"]["dashboard"]
            )

            # The stalled-run alert: fires after STALL_SECONDS without a check, never before.
            stalled = wait_for(
                "the stalled-run alert in Prometheus",
                lambda: [
                    a
                    for a in stack.prometheus_alerts("EmwatchRunStalled")
                    if a["labels"]["run"] == RUN
                ],
                timeout=STALL_SECONDS + 30,
            )
            assert _seconds(stalled[0]["activeAt"]) >= last_check_at + STALL_SECONDS - 0.01
            while_training = stack.query_range(
                f'ALERTS{{alertname="EmwatchRunStalled", run="{RUN}"}}', started, crashed
            )
            assert while_training == [], "a run that sends checks must not count as stalled"
            stalled_note = wait_for(
                "the stalled-run webhook in the service",
                lambda: _notifications(admin, "EmwatchRunStalled"),
                timeout=30,
            )
            assert stalled_note[0]["receiver"] == "emwatch-warning"

            # Every dashboard query returns data from this Prometheus.
            failures = _dashboard_failures(stack, started, time.time(), pictures)
            assert failures == [], "\n".join(failures)
    assert all((pictures / f"{p.stem}.png").stat().st_size > 20_000 for p in DASHBOARDS.glob("*"))
