"""The overview dashboard: every running run at a glance, and the service's own health."""

from __future__ import annotations

from service.dashboards import OVERVIEW_UID, RUN_DASHBOARD_PATH, SCRAPE_JOB
from service.dashboards.grafana import (
    Json,
    Layout,
    Query,
    dashboard,
    query_variable,
    stat,
    table,
    timeseries,
)
from service.metrics import (
    ALERT_FIRING,
    CHECKS_RECEIVED,
    INGEST_DURATION,
    RUN_CHECKS,
    RUN_INFO,
    RUN_LAST_CHECK,
    RUN_LAST_STEP,
    RUNS,
    SCORE_CUSUM,
    SCORE_ZSCORE,
)

RUNS_SELECTED = 'run=~"$run"'
RATE = "$__rate_interval"

_RUN_LINK = {
    "matcher": {"id": "byName", "options": "run"},
    "properties": [
        {
            "id": "links",
            "value": [
                {
                    "title": "Open the run dashboard",
                    "url": f"{RUN_DASHBOARD_PATH}?var-run=${{__value.raw}}"
                    "&${datasource:queryparam}",
                }
            ],
        }
    ],
}


def _latency(quantile: float) -> Query:
    return Query(
        f"histogram_quantile({quantile}, sum by (le) (rate({INGEST_DURATION}_bucket[{RATE}])))",
        f"p{round(quantile * 100)}",
    )


def overview() -> Json:
    layout = Layout()
    layout.row(
        4,
        stat(
            "Running runs",
            "Runs registered with emwatch and not yet finished.",
            Query(f'{RUNS}{{status="running"}}'),
            width=6,
        ),
        stat(
            "Firing misalignment alerts",
            "Detector alerts firing now, over the selected runs (any hook point, feature and "
            "severity).",
            Query(f"sum({ALERT_FIRING}{{{RUNS_SELECTED}}})"),
            width=6,
            red_from=1,
        ),
        stat(
            "Checks stored per minute",
            "Checks stored by the service per minute, over all runs.",
            Query(f'60 * sum(rate({CHECKS_RECEIVED}_total{{outcome="stored"}}[{RATE}]))'),
            width=6,
        ),
        stat(
            "emwatch",
            "Whether Prometheus can scrape the emwatch service.",
            Query(f'min(up{{job="{SCRAPE_JOB}"}})'),
            width=6,
            mappings=[
                {
                    "type": "value",
                    "options": {
                        "0": {"text": "DOWN", "color": "red", "index": 0},
                        "1": {"text": "UP", "color": "green", "index": 1},
                    },
                }
            ],
        ),
    )
    layout.row(
        9,
        table(
            "Current scores",
            "Latest z-score (shift from the step-0 baseline towards misalignment) and its "
            "CUSUM, per run, hook point and feature. Click a run to open its dashboard.",
            [
                Query(f"{SCORE_ZSCORE}{{{RUNS_SELECTED}}}"),
                Query(f"{SCORE_CUSUM}{{{RUNS_SELECTED}}}"),
            ],
            rename={"Value #A": "z-score", "Value #B": "CUSUM"},
            overrides=[_RUN_LINK],
        ),
        table(
            "Firing alerts",
            "Every emwatch alert Prometheus is firing now: misalignment, stalled runs, "
            "ingest errors and the service being down.",
            [Query('ALERTS{alertstate="firing", alertname=~"Emwatch.*"}')],
            hide=("Time", "__name__", "alertstate", "Value", "job", "instance"),
            overrides=[_RUN_LINK],
        ),
    )
    layout.row(
        8,
        timeseries(
            "Highest z-score per run and hook point",
            "The largest feature z-score at each hook point. The default detector warns at 3 "
            "and pages at 6 (after 3 checks in a row); each run's thresholds are on its "
            "dashboard.",
            [
                Query(
                    f"max by (run, hook_point) ({SCORE_ZSCORE}{{{RUNS_SELECTED}}})",
                    "{{run}} {{hook_point}}",
                )
            ],
        ),
        timeseries(
            "Checks per minute per run",
            "How often each run's trainer delivers a check. A run that drops to zero while "
            "still running has stalled or crashed.",
            [Query(f"60 * rate({RUN_CHECKS}_total{{{RUNS_SELECTED}}}[{RATE}])", "{{run}}")],
        ),
    )
    layout.row(
        8,
        timeseries(
            "Ingest latency",
            "Time to decode, score, detect and store one check (quantiles over all runs).",
            [_latency(0.5), _latency(0.9), _latency(0.99)],
            unit="s",
        ),
        timeseries(
            "Checks received by outcome",
            "stored and duplicate (a replay) are healthy; conflict, invalid, unknown_run and "
            "error are rejected or failed checks.",
            [
                Query(
                    f"sum by (outcome) (rate({CHECKS_RECEIVED}_total[{RATE}]))",
                    "{{outcome}}",
                )
            ],
            unit="reqps",
        ),
    )
    layout.row(
        8,
        timeseries(
            "Time since each run's last check",
            "Seconds since the latest check of each running run arrived.",
            [Query(f"time() - {RUN_LAST_CHECK}{{{RUNS_SELECTED}}}", "{{run}}")],
            unit="s",
        ),
        timeseries(
            "Training step per run",
            "Step of each run's latest check.",
            [Query(f"{RUN_LAST_STEP}{{{RUNS_SELECTED}}}", "{{run}}")],
        ),
    )
    return dashboard(
        OVERVIEW_UID,
        "emwatch / overview",
        "All running runs: current misalignment scores, firing alerts, check rates and the "
        "service's ingest health.",
        layout,
        [query_variable("run", "run", RUN_INFO, multi=True)],
    )
