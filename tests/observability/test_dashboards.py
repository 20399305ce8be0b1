"""The Grafana dashboards: generated from service/dashboards, committed, and well formed.

That their queries return data from a real Prometheus is tested in test_stack.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from service.dashboards.build import all_dashboards, main, stale_files
from service.dashboards.grafana import GRID_WIDTH, PROMETHEUS
from tests.observability.dashboard_queries import panels, queries, variable_queries
from tests.observability.tools import DASHBOARDS, emwatch_names, exported_metric_names

DASHBOARD_FILES = sorted(all_dashboards())


def test_committed_dashboards_are_current() -> None:
    assert stale_files(DASHBOARDS) == [], "run `make dashboards` and commit the result"
    assert sorted(p.name for p in DASHBOARDS.glob("*.json")) == DASHBOARD_FILES


def test_check_mode_reports_a_stale_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == 0
    assert main([str(tmp_path), "--check"]) == 0
    edited = tmp_path / DASHBOARD_FILES[0]
    edited.write_text(edited.read_text().replace("z-score", "zscore"))
    assert main([str(tmp_path), "--check"]) == 1
    assert f"{edited} is stale" in capsys.readouterr().out


@pytest.fixture(params=DASHBOARD_FILES)
def dashboard(request: pytest.FixtureRequest) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DASHBOARDS / request.param).read_text())
    return loaded


def test_panels_have_unique_ids_and_fit_the_grid_without_overlap(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_WIDTH, panel["title"]
        covered = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not covered & cells, f"{panel['title']} overlaps another panel"
        cells |= covered


def test_every_panel_explains_itself_and_queries_the_datasource_variable(
    dashboard: dict[str, Any],
) -> None:
    for panel in panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["description"], panel["title"]
        assert panel["targets"], panel["title"]
        assert all(t["datasource"] == PROMETHEUS for t in panel["targets"]), panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_queries_use_only_metrics_the_service_exports(
    dashboard: dict[str, Any], tmp_path: Path
) -> None:
    exported = exported_metric_names(tmp_path)
    for query in queries(dashboard):
        unknown = emwatch_names(query.expr) - exported
        assert not unknown, f"{query.where}: {unknown} not in service/metrics.py"
    for selector, _label in variable_queries(dashboard).values():
        assert emwatch_names(selector) <= exported, selector


def test_run_dashboard_has_run_and_hook_point_variables_and_alert_annotations() -> None:
    run = all_dashboards()["emwatch-run.json"]
    assert list(variable_queries(run)) == ["run", "hook_point"]
    repeated = [p for p in run["panels"] if p.get("repeat")]
    assert [p["repeat"] for p in repeated] == ["hook_point"]
    annotations = [q for q in queries(run) if q.kind == "annotation"]
    assert annotations and all('run="$run"' in q.expr for q in annotations)
    thresholds = [q for q in queries(run) if "emwatch_detector_threshold" in q.expr]
    assert {q.where.split(" / ")[-1] for q in thresholds} >= {
        "Misalignment direction: z-score",
        "Watched persona latents: z-score",
        "CUSUM of the z-score",
        "z-score by training step",
    }
