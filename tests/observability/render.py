"""Draw a dashboard with matplotlib from real Prometheus query results.

No Grafana server can run here, so this stands in for a screenshot: each panel is drawn at
its grid position from the same queries Grafana would send (time series, trend, stat, table,
state timeline), in Grafana's dark colours. A repeated row is drawn once, for the first value
of its variable. It is a picture of the data and the layout, not of Grafana's exact styling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tests.observability.dashboard_queries import panels, substitute
from tests.observability.stack import Stack

BACKGROUND, PANEL, TEXT, GRID = "#111217", "#181b1f", "#ccccdc", "#2c3235"
PALETTE = ["#73BF69", "#5794F2", "#B877D9", "#FADE2A", "#8AB8FF", "#FF9830", "#F2495C"]
NAMED = {"green": "#73BF69", "orange": "#FF9830", "red": "#F2495C"}
RATE_INTERVAL = "4s"


def _legend(template: str, labels: Mapping[str, str]) -> str:
    if template == "__auto":
        inner = ", ".join(f'{k}="{v}"' for k, v in labels.items() if k != "__name__")
        return f"{labels.get('__name__', '')}{{{inner}}}"
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m[1], ""), template)


class _Painter:
    def __init__(
        self, stack: Stack, values: Mapping[str, list[str]], start: float, end: float
    ) -> None:
        self.stack, self.values, self.start, self.end = stack, values, start, end

    def series(self, target: Mapping[str, Any]) -> list[tuple[str, list[float], list[float]]]:
        expr = substitute(target["expr"], self.values, RATE_INTERVAL)
        return [
            (
                _legend(target["legendFormat"], s["metric"]),
                [float(t) for t, _ in s["values"]],
                [float(v) for _, v in s["values"]],
            )
            for s in self.stack.query_range(expr, self.start, self.end)
        ]

    def lines(self, ax: Axes, panel: Mapping[str, Any], x_is_time: bool) -> None:
        targets = panel["targets"]
        x_by_time: dict[float, float] = {}
        if not x_is_time:  # trend: the first query is the x field, joined on time
            (_, times, steps), *_ = self.series(targets[0]) or [("", [], [])]
            x_by_time = dict(zip(times, steps, strict=True))
            targets = targets[1:]
        colour = iter(PALETTE * 4)
        for target in targets:
            for name, times, ys in self.series(target):
                xs: list[Any] = (
                    [datetime.fromtimestamp(t) for t in times]
                    if x_is_time
                    else [x_by_time.get(t) for t in times]
                )
                style: dict[str, Any] = {"color": next(colour), "linewidth": 1.6}
                if name.endswith("threshold"):
                    severity_colour = NAMED["red"] if "critical" in name else NAMED["orange"]
                    style = {"color": severity_colour, "linewidth": 1, "linestyle": "--"}
                ax.plot(xs, ys, label=name, **style)
        if x_is_time:
            ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
        else:
            ax.set_xlabel("training step", color=TEXT, fontsize=7)
        if ax.lines:
            ax.legend(fontsize=6, loc="upper left", facecolor=PANEL, labelcolor=TEXT, frameon=False)

    def stat(self, ax: Axes, panel: Mapping[str, Any]) -> None:
        found = self.series(panel["targets"][0])
        text = "No data"
        if found:
            name, _, ys = found[0]
            mappings = panel["fieldConfig"]["defaults"]["mappings"]
            mapped = mappings[0]["options"].get(f"{ys[-1]:g}") if mappings else None
            unit = " s" if panel["fieldConfig"]["defaults"]["unit"] == "s" else ""
            text = (
                name
                if panel["options"]["textMode"] == "name"
                else (mapped["text"] if mapped else f"{ys[-1]:.4g}{unit}")
            )
        ax.text(0.5, 0.4, text, ha="center", va="center", color=NAMED["green"], fontsize=16)

    def table(self, ax: Axes, panel: Mapping[str, Any]) -> None:
        """Instant values at the end, merged on labels, as the table's transformations do."""
        organize = panel["transformations"][1]["options"]
        hidden, renames = set(organize["excludeByName"]), organize["renameByName"]
        label_columns: list[str] = []
        value_columns: list[str] = []
        rows: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        for target in panel["targets"]:
            column = renames.get(f"Value #{target['refId']}", "Value")
            expr = substitute(target["expr"], self.values, RATE_INTERVAL)
            for s in self.stack.query_range(expr, self.end, self.end):
                labels = {k: v for k, v in s["metric"].items() if k not in hidden}
                label_columns += [k for k in labels if k not in label_columns]
                row = rows.setdefault(tuple(sorted(labels.items())), dict(labels))
                row[column] = f"{float(s['values'][-1][1]):.2f}"
            if column not in hidden:
                value_columns.append(column)
        header = label_columns + value_columns
        body = [[row.get(c, "") for c in header] for row in rows.values()][:8]
        if body:
            drawn = ax.table(cellText=body, colLabels=header, loc="upper center", cellLoc="left")
            drawn.auto_set_font_size(False)
            drawn.set_fontsize(6)
            for cell in drawn.get_celld().values():
                cell.set_facecolor(PANEL)
                cell.set_edgecolor(GRID)
                cell.get_text().set_color(TEXT)

    def state_timeline(self, ax: Axes, panel: Mapping[str, Any]) -> None:
        mapping = panel["fieldConfig"]["defaults"]["mappings"][0]["options"]
        found = self.series(panel["targets"][0])
        for row, (_name, times, ys) in enumerate(found):
            colours = [NAMED[mapping[f"{y:g}"]["color"]] for y in ys]
            ax.scatter(
                [datetime.fromtimestamp(t) for t in times],
                [row] * len(ys),
                c=colours,
                marker="s",
                s=30,
            )
        ax.set_yticks(range(len(found)), [name for name, _, _ in found], fontsize=6)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))

    def annotate(self, ax: Axes, annotations: list[Mapping[str, Any]]) -> None:
        """Alert annotations as red marks where each alert starts firing."""
        for entry in annotations:
            for _name, times, _ in self.series({"expr": entry["expr"], "legendFormat": ""}):
                ax.axvline(datetime.fromtimestamp(times[0]), color=NAMED["red"], linewidth=0.8)


def render_dashboard(
    dashboard: Mapping[str, Any],
    stack: Stack,
    values: Mapping[str, list[str]],
    start: float,
    end: float,
    out: Path,
) -> None:
    """Draw ``dashboard`` with its variables set to ``values`` over [start, end] into ``out``."""
    repeat = next((p["repeat"] for p in dashboard["panels"] if p.get("repeat")), None)
    chosen = {k: (v[:1] if k == repeat else v) for k, v in values.items()}
    painter = _Painter(stack, chosen, start, end)
    annotations = [a for a in dashboard["annotations"]["list"] if "expr" in a]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels(dashboard))
    total = height + 1.5  # grid units, with room for the title
    figure = Figure(figsize=(20, total * 0.42), facecolor=BACKGROUND)
    figure.suptitle(
        f"{dashboard['title']}  ·  "
        + "  ".join(f"{k}={','.join(v)}" for k, v in chosen.items())
        + "  ·  drawn from real Prometheus query results (matplotlib, not Grafana)",
        color=TEXT,
        fontsize=11,
        y=1 - 0.5 / total,
    )
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        box = [
            grid["x"] / 24 + 0.025,
            1 - (1.5 + grid["y"] + grid["h"]) / total + 0.012,
            grid["w"] / 24 - 0.03,
            grid["h"] / total - 0.035,
        ]
        title = substitute(panel["title"], chosen, RATE_INTERVAL)
        if panel["type"] == "row":
            figure.text(box[0], box[1] + box[3] + 0.01, title, color=TEXT, fontsize=10)
            continue
        ax = figure.add_axes(box, facecolor=PANEL)
        ax.set_title(title, color=TEXT, fontsize=8, loc="left")
        ax.tick_params(colors=TEXT, labelsize=6)
        ax.grid(color=GRID, linewidth=0.5)
        for spine in ax.spines.values():
            spine.set_color(GRID)
        if panel["type"] in {"timeseries", "trend"}:
            painter.lines(ax, panel, x_is_time=panel["type"] == "timeseries")
            if panel["type"] == "timeseries":
                painter.annotate(ax, annotations)
        elif panel["type"] == "state-timeline":
            painter.state_timeline(ax, panel)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            painter.stat(ax, panel) if panel["type"] == "stat" else painter.table(ax, panel)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=80, facecolor=BACKGROUND)
