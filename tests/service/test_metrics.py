"""/metrics as Prometheus reads it: valid text format, whatever the labels hold."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from monitor.core.wire import encode_check
from monitor.trainer.client import EmwatchClient
from tests.factories import make_check
from tests.servers import ServiceProcess

AWKWARD = 'model "quoted" \\ back\nslash'


def test_the_exposition_parses_and_keeps_awkward_label_values(
    service: ServiceProcess, admin: EmwatchClient, pack_name: str
) -> None:
    admin.create_run({"name": "awkward", "probe_pack": pack_name, "model_id": AWKWARD})
    for step in (0, 10):
        admin.send_check("awkward", encode_check(make_check("awkward", step, seed=step)))
    text = httpx.get(f"{service.url}/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    info = [s for s in families["emwatch_run_info"].samples if s.labels["run"] == "awkward"]
    assert [s.labels["model_id"] for s in info] == [AWKWARD]
    checks = [s for s in families["emwatch_run_checks"].samples if s.labels["run"] == "awkward"]
    assert [(s.name, s.value) for s in checks] == [("emwatch_run_checks_total", 2.0)]
    scores = [s for s in families["emwatch_score_zscore"].samples if s.labels["run"] == "awkward"]
    assert len(scores) == 4 and {s.labels["hook_point"] for s in scores} == {
        "model.layers.1",
        "model.layers.2",
    }
    firing = families["emwatch_alert_firing"].samples
    assert {s.labels["severity"] for s in firing if s.labels["run"] == "awkward"} == {
        "warning",
        "critical",
    }
