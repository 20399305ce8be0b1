"""emwatch's Grafana dashboards, generated from code: the one source of truth.

``python -m service.dashboards`` writes them to ``docker/grafana/dashboards/`` (``--check``
only compares); a test fails when the committed JSON differs from what this code generates.
Metric names come from ``service.metrics``, so a renamed metric changes the dashboards too.
"""

OVERVIEW_UID = "emwatch-overview"
RUN_UID = "emwatch-run"
RUN_DASHBOARD_PATH = f"/d/{RUN_UID}/emwatch-run"
SCRAPE_JOB = "emwatch"  # the job_name of emwatch in docker/prometheus/prometheus.yml
