"""Prometheus exposition: every metric name emwatch exports is defined here, once.

Run state (scores, alerts, thresholds, the latest training-sample attribution) is read from the
store at scrape time, in one snapshot of four queries whatever the number of runs, so the
numbers are the database's, the same from every replica, and a run that finishes or is deleted
simply leaves the exposition. It is written as text directly (``run_state``). Process-level
counters (checks received, ingest latency) are ordinary prometheus_client instruments in a
per-app registry.

Labels stay bounded: run, hook_point, feature (a direction or a *watched* latent, never every
SAE latent), rule, severity, outcome.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from monitor.core.detect import DetectorConfig, Severity
from service.store import Store
from service.store.records import MetricsSnapshot

PREFIX = "emwatch_"
RUN_INFO = "emwatch_run_info"
RUN_CHECKS = "emwatch_run_checks"  # exposed as emwatch_run_checks_total
RUN_LAST_STEP = "emwatch_run_last_step"
RUN_LAST_CHECK = "emwatch_run_last_check_timestamp_seconds"
RUNS = "emwatch_runs"
SCORE = "emwatch_score"
SCORE_ZSCORE = "emwatch_score_zscore"
SCORE_CUSUM = "emwatch_score_cusum"
ALERT_FIRING = "emwatch_alert_firing"
ALERT_PENDING = "emwatch_alert_pending"
DETECTOR_THRESHOLD = "emwatch_detector_threshold"
ATTRIBUTION_SHARE = "emwatch_attribution_share_above_unit"
CHECKS_RECEIVED = "emwatch_checks_received"  # exposed as emwatch_checks_received_total
INGEST_DURATION = "emwatch_ingest_duration_seconds"

# ``*_created`` series only double the exposition; rate() needs none of them.
disable_created_metrics()  # type: ignore[no-untyped-call]

INGEST_OUTCOMES = ("stored", "duplicate", "conflict", "invalid", "unknown_run", "error")


class Family:
    """One metric family written straight in Prometheus' text format.

    prometheus_client validates and escapes every label of every sample again on each scrape,
    0.8 s for the 50,000 series of 1,000 runs; here the label names are fixed and sorted in
    the format strings below, and each distinct label value is escaped once.
    """

    def __init__(self, name: str, help_text: str, kind: str = "gauge") -> None:
        self.sample = f"{name}_total" if kind == "counter" else name
        self.lines = [f"# HELP {self.sample} {help_text}", f"# TYPE {self.sample} {kind}"]

    def add(self, labels: str, value: float) -> None:
        """``labels``: the ``{name="value",...}`` part, label names in sorted order."""
        self.lines.append(f"{self.sample}{labels} {_number(value)}")


@functools.lru_cache(maxsize=65536)
def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    value = float(value)
    if math.isfinite(value):
        return repr(value)
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def run_state(snapshot: MetricsSnapshot) -> str:
    """Scores, alerts and thresholds of every running run, from one store snapshot."""
    e = _escaped
    by_status = Family(RUNS, "Runs known to the service, by status.")
    for status in ("finished", "failed", "running"):
        by_status.add(f'{{status="{status}"}}', snapshot.runs_by_status.get(status, 0))
    info = Family(RUN_INFO, "A running run, with its probe pack and model.")
    checks = Family(RUN_CHECKS, "Checks stored for the run.", "counter")
    last_step = Family(RUN_LAST_STEP, "Training step of the latest check.")
    last_check = Family(RUN_LAST_CHECK, "Unix time the latest check arrived.")
    thresholds = Family(
        DETECTOR_THRESHOLD, "Alert threshold of a detector rule, in its signal's units."
    )
    value = Family(
        SCORE,
        "Latest mean feature value over canary prompts: the projection on a direction or a "
        "watched latent's activation.",
    )
    zscore = Family(
        SCORE_ZSCORE, "Latest shift from the step-0 baseline towards misalignment, in z units."
    )
    cusum = Family(SCORE_CUSUM, "One-sided CUSUM of the z-score.")
    firing = Family(
        ALERT_FIRING, "1 if any rule's alert for the feature is firing at this severity."
    )
    pending = Family(
        ALERT_PENDING, "1 if any rule's alert for the feature is pending at this severity."
    )
    attribution = Family(
        ATTRIBUTION_SHARE,
        "Share of the training samples of the run's latest attribution window (the steps "
        "before its latest check that carried one) that scored above one unit.",
    )
    for run in snapshot.running:
        r = e(run.name)
        latest = snapshot.latest_attribution.get(run.run_id)
        if latest is not None:
            attribution.add(f'{{run="{r}"}}', latest.share_above_unit)
        info.add(f'{{model_id="{e(run.model_id)}",probe_pack="{e(run.probe_pack)}",run="{r}"}}', 1)
        checks.add(f'{{run="{r}"}}', run.n_checks)
        if run.last_step is not None and run.last_check_at is not None:
            last_step.add(f'{{run="{r}"}}', run.last_step)
            last_check.add(f'{{run="{r}"}}', run.last_check_at)
        for rule_name, rule in _detector(run.detector_config).rules.items():
            for severity, threshold in rule.thresholds():
                thresholds.add(
                    f'{{rule="{e(rule_name)}",run="{r}",severity="{severity}",'
                    f'signal="{rule.signal}"}}',
                    threshold,
                )
        active = {
            (a.hook_point, a.feature, a.severity, a.state)
            for a in snapshot.active_alerts.get(run.run_id, [])
        }
        for row in snapshot.latest_scores.get(run.run_id, []):
            feature = f'{{feature="{e(row.feature)}",hook_point="{e(row.hook_point)}",run="{r}"'
            value.add(feature + "}", row.value)
            zscore.add(feature + "}", row.zscore)
            cusum.add(feature + "}", row.cusum)
            for severity in Severity:
                labels = f'{feature},severity="{severity.value}"}}'
                key = (row.hook_point, row.feature, severity.value)
                firing.add(labels, float((*key, "firing") in active))
                pending.add(labels, float((*key, "pending") in active))
    families = [by_status, info, checks, last_step, last_check, thresholds]
    families += [value, zscore, cusum, firing, pending, attribution]
    return "\n".join(line for family in families for line in family.lines) + "\n"


@functools.lru_cache(maxsize=4096)
def _parsed_detector(config_json: str) -> DetectorConfig:
    return DetectorConfig.model_validate_json(config_json)


def _detector(config: dict[str, Any]) -> DetectorConfig:
    """Runs share a handful of configurations; validate each once, not once per scrape."""
    return _parsed_detector(json.dumps(config, sort_keys=True))


class ServiceMetrics:
    """The app's registry of process instruments, and the store the run state comes from."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.checks_received = Counter(
            CHECKS_RECEIVED,
            "Check bodies received, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in INGEST_OUTCOMES:  # export zeros so rate() works from the first scrape
            self.checks_received.labels(outcome)
        self.ingest_duration = Histogram(
            INGEST_DURATION,
            "Time to decode, score, detect and store one check.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.store = store

    def render(self) -> bytes:
        """Process instruments (prometheus_client), then the runs' state (``run_state``)."""
        processes = generate_latest(self.registry)
        return processes + run_state(self.store.metrics_snapshot()).encode()
