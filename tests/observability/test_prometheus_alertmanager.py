"""The Prometheus and Alertmanager configs, checked by the real promtool and amtool."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from service.dashboards import OVERVIEW_UID, RUN_UID, SCRAPE_JOB
from tests.observability.tools import (
    ALERTMANAGER_CONFIG,
    PROMETHEUS_CONFIG,
    RULE_TESTS,
    RULES,
    emwatch_names,
    exported_metric_names,
    run_tool,
    tool,
)

ALERTS = {
    "EmwatchMisalignmentWarning",
    "EmwatchMisalignmentCritical",
    "EmwatchRunStalled",
    "EmwatchIngestErrors",
    "EmwatchDown",
}


def _rules() -> list[dict[str, object]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_check_config() -> None:
    output = run_tool(tool("promtool"), "check", "config", str(PROMETHEUS_CONFIG))
    assert "SUCCESS: 1 rule files found" in output


def test_promtool_check_rules() -> None:
    output = run_tool(tool("promtool"), "check", "rules", str(RULES))
    assert f"SUCCESS: {len(_rules())} rules found" in output


def test_promtool_rule_unit_tests_pass_and_cover_every_alert() -> None:
    run_tool(tool("promtool"), "test", "rules", str(RULE_TESTS))
    cases = [
        case
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
    ]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    silent = {case["alertname"] for case in cases if not case["exp_alerts"]}
    assert {rule["alert"] for rule in _rules() if "alert" in rule} == ALERTS
    assert firing == ALERTS, "every alert needs a test where it fires"
    assert silent == ALERTS, "every alert needs a test where it does not fire"


def test_promtool_unit_tests_can_fail(tmp_path: Path) -> None:
    """A wrong expectation makes `promtool test rules` fail, so the passing run means something."""
    tests = yaml.safe_load(RULE_TESTS.read_text())
    tests["rule_files"] = [str(RULES)]
    case = tests["tests"][0]["alert_rule_test"][-1]
    case["exp_alerts"][0]["exp_labels"]["severity"] = "warning"  # the critical alert, mislabelled
    broken = tmp_path / "broken_test.yml"
    broken.write_text(yaml.safe_dump(tests))
    with pytest.raises(AssertionError, match="FAILED"):
        run_tool(tool("promtool"), "test", "rules", str(broken))


def test_rules_use_only_metrics_the_service_exports(tmp_path: Path) -> None:
    text = RULES.read_text()
    unknown = emwatch_names(text) - exported_metric_names(tmp_path)
    assert not unknown, f"rules use metrics service/metrics.py does not export: {unknown}"
    recorded = {rule["record"] for rule in _rules() if "record" in rule}
    used = set(re.findall(r"\bemwatch:[a-z_0-9:]+", text)) - recorded
    assert not used, f"rules use recording rules that are not defined: {used}"


def test_alerts_carry_labels_summary_and_a_grafana_link() -> None:
    for rule in _rules():
        if "alert" not in rule:
            continue
        labels, annotations = rule["labels"], rule["annotations"]
        assert labels["severity"] in {"warning", "critical"}, rule["alert"]
        assert {"summary", "description", "dashboard"} <= set(annotations), rule["alert"]
        uid = RUN_UID if "run" in str(annotations["summary"]) else OVERVIEW_UID
        assert f"/d/{uid}/" in annotations["dashboard"], rule["alert"]
        if rule["alert"].startswith("EmwatchMisalignment"):
            assert "var-hook_point={{ $labels.hook_point" in annotations["dashboard"]


def test_scrape_job_matches_the_dashboards_and_rules() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    assert [job["job_name"] for job in config["scrape_configs"]] == [SCRAPE_JOB]
    assert f'up{{job="{SCRAPE_JOB}"}}' in RULES.read_text()


def test_amtool_check_config() -> None:
    output = run_tool(tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG))
    assert "SUCCESS" in output and "3 receivers" in output


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["alertname=EmwatchMisalignmentCritical", "severity=critical"], "emwatch-critical"),
        (["alertname=EmwatchDown", "severity=critical"], "emwatch-critical"),
        (["alertname=EmwatchMisalignmentWarning", "severity=warning"], "emwatch-warning"),
        (["alertname=EmwatchRunStalled", "severity=warning"], "emwatch-warning"),
        (["alertname=Other"], "emwatch-default"),
    ],
)
def test_alertmanager_routes_by_severity(labels: list[str], receiver: str) -> None:
    output = run_tool(
        tool("amtool"), "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels
    )
    assert output.split()[0] == receiver, output


def test_every_receiver_records_in_the_service() -> None:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for receiver in config["receivers"]:
        (webhook,) = receiver["webhook_configs"]
        assert webhook["url"].endswith("/v1/alertmanager/webhook"), receiver["name"]
        assert webhook["send_resolved"] is True
        assert webhook["http_config"]["authorization"]["credentials_file"]
