"""A small builder for Grafana dashboard JSON (schema 39, Grafana 10.4 to 11).

Only what emwatch's dashboards use: Prometheus queries, time series, trend, stat, table and
state-timeline panels, repeated rows, variables and annotations. Panels are placed on
Grafana's 24-column grid row by row, so a dashboard reads top to bottom like its code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

DATASOURCE_VARIABLE = "datasource"
PROMETHEUS: Json = {"type": "prometheus", "uid": f"${{{DATASOURCE_VARIABLE}}}"}
SCHEMA_VERSION = 39
GRID_WIDTH = 24

SEVERITY_COLOURS = {"warning": "orange", "critical": "red"}


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel; ``table`` asks for an instant query in table format."""

    expr: str
    legend: str = "__auto"
    table: bool = False

    def target(self, ref_id: str) -> Json:
        target: Json = {
            "refId": ref_id,
            "datasource": PROMETHEUS,
            "editorMode": "code",
            "expr": self.expr,
            "legendFormat": self.legend,
            "range": not self.table,
            "instant": self.table,
        }
        if self.table:
            target["format"] = "table"
        return target


@dataclass
class Panel:
    """A panel before placement: its kind, queries and options; ``width`` in grid columns."""

    kind: str
    title: str
    description: str
    queries: list[Query]
    width: int
    options: Json = field(default_factory=dict)
    defaults: Json = field(default_factory=dict)
    overrides: list[Json] = field(default_factory=list)
    transformations: list[Json] = field(default_factory=list)

    def render(self, panel_id: int, x: int, y: int, height: int) -> Json:
        return {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "datasource": PROMETHEUS,
            "gridPos": {"h": height, "w": self.width, "x": x, "y": y},
            "targets": [query.target(chr(ord("A") + i)) for i, query in enumerate(self.queries)],
            "fieldConfig": {"defaults": self.defaults, "overrides": self.overrides},
            "options": self.options,
            "transformations": self.transformations,
        }


_LEGEND: Json = {
    "showLegend": True,
    "displayMode": "table",
    "placement": "right",
    "calcs": ["lastNotNull", "max"],
}
_TOOLTIP: Json = {"mode": "multi", "sort": "desc"}


def _line_style(width: int = 2) -> Json:
    return {"drawStyle": "line", "lineWidth": width, "showPoints": "never", "spanNulls": True}


def threshold_overrides() -> list[Json]:
    """Draw series named '... warning threshold' / '... critical threshold' as dashed lines."""
    return [
        {
            "matcher": {"id": "byRegexp", "options": f"/{severity} threshold$/"},
            "properties": [
                {"id": "color", "value": {"mode": "fixed", "fixedColor": colour}},
                {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 6]}},
                {"id": "custom.lineWidth", "value": 1},
            ],
        }
        for severity, colour in SEVERITY_COLOURS.items()
    ]


def timeseries(
    title: str, description: str, queries: list[Query], *, width: int = 12, unit: str = "none"
) -> Panel:
    """Lines over time; series ending in 'threshold' are drawn dashed."""
    return Panel(
        "timeseries",
        title,
        description,
        queries,
        width,
        options={"legend": _LEGEND, "tooltip": _TOOLTIP},
        defaults={"unit": unit, "custom": _line_style()},
        overrides=threshold_overrides(),
    )


def trend(
    title: str, description: str, x: Query, queries: list[Query], *, width: int = 12
) -> Panel:
    """Lines over a numeric x (not time): ``x`` is joined to ``queries`` on time."""
    return Panel(
        "trend",
        title,
        description,
        [x, *queries],
        width,
        options={"xField": x.legend, "legend": _LEGEND, "tooltip": _TOOLTIP},
        defaults={"unit": "none", "custom": _line_style()},
        overrides=threshold_overrides(),
        transformations=[{"id": "joinByField", "options": {"byField": "Time", "mode": "outer"}}],
    )


def stat(
    title: str,
    description: str,
    query: Query,
    *,
    width: int = 4,
    unit: str = "none",
    red_from: float | None = None,
    mappings: list[Json] | None = None,
    text_mode: str = "value",
) -> Panel:
    """One number; red from ``red_from`` upwards when given."""
    steps: list[Json] = [{"color": "green", "value": None}]
    if red_from is not None:
        steps.append({"color": "red", "value": red_from})
    return Panel(
        "stat",
        title,
        description,
        [query],
        width,
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value" if text_mode == "value" else "none",
            "graphMode": "none",
            "textMode": text_mode,
            "justifyMode": "auto",
            "orientation": "auto",
        },
        defaults={
            "unit": unit,
            "mappings": mappings or [],
            "thresholds": {"mode": "absolute", "steps": steps},
            "color": {"mode": "thresholds"},
        },
    )


def table(
    title: str,
    description: str,
    queries: list[Query],
    *,
    width: int = 12,
    rename: dict[str, str] | None = None,
    hide: tuple[str, ...] = ("Time", "__name__", "job", "instance"),
    overrides: list[Json] | None = None,
) -> Panel:
    """Instant queries merged into one table on their labels."""
    return Panel(
        "table",
        title,
        description,
        [Query(q.expr, q.legend, table=True) for q in queries],
        width,
        options={"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
        defaults={"custom": {"align": "auto"}, "decimals": 2},
        overrides=overrides or [],
        transformations=[
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {
                    "excludeByName": dict.fromkeys(hide, True),
                    "renameByName": rename or {},
                },
            },
        ],
    )


def state_timeline(
    title: str, description: str, query: Query, states: list[tuple[float, str, str]], width: int
) -> Panel:
    """Coloured bands per series; ``states`` maps values to (text, colour)."""
    mappings = [
        {
            "type": "value",
            "options": {
                f"{value:g}": {"text": text, "color": colour, "index": i}
                for i, (value, text, colour) in enumerate(states)
            },
        }
    ]
    return Panel(
        "state-timeline",
        title,
        description,
        [query],
        width,
        options={
            "mergeValues": True,
            "showValue": "never",
            "alignValue": "left",
            "rowHeight": 0.8,
            "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom"},
            "tooltip": {"mode": "single", "sort": "none"},
        },
        defaults={"mappings": mappings, "color": {"mode": "fixed", "fixedColor": "green"}},
    )


@dataclass
class Layout:
    """Places panels on the grid: each ``row`` call starts a new line of panels."""

    panels: list[Json] = field(default_factory=list)
    y: int = 0

    def _next_id(self) -> int:
        return len(self.panels) + 1

    def row(self, height: int, *panels: Panel) -> None:
        if sum(p.width for p in panels) > GRID_WIDTH:
            raise ValueError(f"panels {[p.title for p in panels]} are wider than the grid")
        x = 0
        for panel in panels:
            self.panels.append(panel.render(self._next_id(), x, self.y, height))
            x += panel.width
        self.y += height

    def heading(self, title: str, repeat: str | None = None) -> None:
        """A row header; with ``repeat`` Grafana repeats the panels below it per value."""
        row: Json = {
            "id": self._next_id(),
            "type": "row",
            "title": title,
            "collapsed": False,
            "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": self.y},
            "panels": [],
        }
        if repeat:
            row["repeat"] = repeat
        self.panels.append(row)
        self.y += 1


def datasource_variable() -> Json:
    return {
        "name": DATASOURCE_VARIABLE,
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
    }


def query_variable(name: str, label: str, metric: str, *, multi: bool = False) -> Json:
    """A variable holding the values of ``label`` on ``metric`` (a series selector)."""
    definition = f"label_values({metric}, {label})"
    return {
        "name": name,
        "label": name.replace("_", " ").capitalize(),
        "type": "query",
        "datasource": PROMETHEUS,
        "definition": definition,
        "query": definition,
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
        "current": {},
        "hide": 0,
        "regex": "",
        "options": [],
    }


def annotation(name: str, expr: str, title: str, text: str, tags: str, colour: str) -> Json:
    """Marks on every time-series panel wherever ``expr`` has a value."""
    return {
        "name": name,
        "enable": True,
        "hide": False,
        "iconColor": colour,
        "datasource": PROMETHEUS,
        "expr": expr,
        "step": "30s",
        "titleFormat": title,
        "textFormat": text,
        "tagKeys": tags,
        "useValueForTime": False,
    }


_BUILTIN_ANNOTATIONS: Json = {
    "builtIn": 1,
    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
    "enable": True,
    "hide": True,
    "iconColor": "rgba(0, 211, 255, 1)",
    "name": "Annotations & Alerts",
    "type": "dashboard",
}


def dashboard(
    uid: str,
    title: str,
    description: str,
    layout: Layout,
    variables: list[Json],
    annotations: Sequence[Json] = (),
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["emwatch"],
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "links": [
            {
                "title": "emwatch dashboards",
                "type": "dashboards",
                "tags": ["emwatch"],
                "asDropdown": True,
                "includeVars": False,
                "keepTime": True,
            }
        ],
        "templating": {"list": [datasource_variable(), *variables]},
        "annotations": {"list": [_BUILTIN_ANNOTATIONS, *annotations]},
        "panels": layout.panels,
    }
