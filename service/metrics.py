"""Prometheus exposition: every metric name emwatch exports is defined here, once.

Run state (scores, alerts, thresholds) comes from a custom collector that reads the store at
scrape time, so the numbers are the database's, shared by every service process, and a run
that finishes or is deleted simply leaves the exposition. Process-level counters (requests,
ingest latency) are ordinary instruments in a per-app registry.

Labels stay bounded: run, hook_point, feature (a direction or a *watched* latent, never every
SAE latent), rule, severity, outcome.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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
CHECKS_RECEIVED = "emwatch_checks_received"  # exposed as emwatch_checks_received_total
INGEST_DURATION = "emwatch_ingest_duration_seconds"

# ``*_created`` series only double the exposition; rate() needs none of them.
disable_created_metrics()  # type: ignore[no-untyped-call]

INGEST_OUTCOMES = ("stored", "duplicate", "conflict", "invalid", "unknown_run", "error")


class RunStateCollector(Collector):
    """Scores, alerts and thresholds of every running run, read from the store per scrape.

    One snapshot of four queries whatever the number of runs (``Store.metrics_snapshot``), so
    a scrape costs a few rows per run rather than a few queries per run.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        snapshot = self.store.metrics_snapshot()
        by_status = GaugeMetricFamily(
            RUNS, "Runs known to the service, by status.", labels=["status"]
        )
        for status in ("running", "finished", "failed"):
            by_status.add_metric([status], snapshot.runs_by_status.get(status, 0))
        yield by_status

        info = GaugeMetricFamily(
            RUN_INFO,
            "A running run, with its probe pack and model.",
            labels=["run", "probe_pack", "model_id"],
        )
        checks = CounterMetricFamily(RUN_CHECKS, "Checks stored for the run.", labels=["run"])
        last_step = GaugeMetricFamily(
            RUN_LAST_STEP, "Training step of the latest check.", labels=["run"]
        )
        last_check = GaugeMetricFamily(
            RUN_LAST_CHECK, "Unix time the latest check arrived.", labels=["run"]
        )
        thresholds = GaugeMetricFamily(
            DETECTOR_THRESHOLD,
            "Alert threshold of a detector rule, in its signal's units.",
            labels=["run", "rule", "signal", "severity"],
        )
        for run in snapshot.running:
            info.add_metric([run.name, run.probe_pack, run.model_id], 1)
            checks.add_metric([run.name], run.n_checks)
            if run.last_step is not None and run.last_check_at is not None:
                last_step.add_metric([run.name], run.last_step)
                last_check.add_metric([run.name], run.last_check_at)
            for rule_name, rule in _detector(run.detector_config).rules.items():
                for severity, threshold in rule.thresholds():
                    thresholds.add_metric([run.name, rule_name, rule.signal, severity], threshold)
        yield from (info, checks, last_step, last_check, thresholds)
        yield from self._scores_and_alerts(snapshot)

    @staticmethod
    def _scores_and_alerts(snapshot: MetricsSnapshot) -> Iterator[Metric]:
        labels = ["run", "hook_point", "feature"]
        value = GaugeMetricFamily(
            SCORE,
            "Latest mean feature value over canary prompts: the "
            "projection on a direction or a watched latent's activation.",
            labels=labels,
        )
        zscore = GaugeMetricFamily(
            SCORE_ZSCORE,
            "Latest shift from the step-0 baseline towards misalignment, in z units.",
            labels=labels,
        )
        cusum = GaugeMetricFamily(SCORE_CUSUM, "One-sided CUSUM of the z-score.", labels=labels)
        alert_labels = [*labels, "severity"]
        firing = GaugeMetricFamily(
            ALERT_FIRING,
            "1 if any rule's alert for the feature is firing at this severity.",
            labels=alert_labels,
        )
        pending = GaugeMetricFamily(
            ALERT_PENDING,
            "1 if any rule's alert for the feature is pending at this severity.",
            labels=alert_labels,
        )
        for run in snapshot.running:
            rows = snapshot.latest_scores.get(run.run_id, [])
            for row in rows:
                key = [run.name, row.hook_point, row.feature]
                value.add_metric(key, row.value)
                zscore.add_metric(key, row.zscore)
                cusum.add_metric(key, row.cusum)
            active = {
                (a.hook_point, a.feature, a.severity, a.state)
                for a in snapshot.active_alerts.get(run.run_id, [])
            }
            for row in rows:
                for severity in Severity:
                    key = [run.name, row.hook_point, row.feature, severity.value]
                    firing.add_metric(
                        key, float((row.hook_point, row.feature, severity, "firing") in active)
                    )
                    pending.add_metric(
                        key, float((row.hook_point, row.feature, severity, "pending") in active)
                    )
        yield from (value, zscore, cusum, firing, pending)


@functools.lru_cache(maxsize=4096)
def _parsed_detector(config_json: str) -> DetectorConfig:
    return DetectorConfig.model_validate_json(config_json)


def _detector(config: dict[str, Any]) -> DetectorConfig:
    """Runs share a handful of configurations; validate each once, not once per scrape."""
    return _parsed_detector(json.dumps(config, sort_keys=True))


class ServiceMetrics:
    """The app's registry: process instruments plus the run-state collector."""

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
        self.registry.register(RunStateCollector(store))

    def render(self) -> bytes:
        return generate_latest(self.registry)
