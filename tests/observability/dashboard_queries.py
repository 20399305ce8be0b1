"""Every PromQL query a dashboard makes, with Grafana's variables filled in as Grafana would."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


@dataclass(frozen=True)
class PanelQuery:
    where: str  # "dashboard / panel title" or "dashboard / annotation name"
    expr: str
    kind: str  # panel type, or "annotation"


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard: Mapping[str, Any]) -> Iterator[PanelQuery]:
    """The queries of every panel and annotation (not the variables' own queries)."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield PanelQuery(
                f"{dashboard['title']} / {panel['title']}", target["expr"], panel["type"]
            )
    for entry in dashboard["annotations"]["list"]:
        if "expr" in entry:
            yield PanelQuery(f"{dashboard['title']} / {entry['name']}", entry["expr"], "annotation")


def variable_queries(dashboard: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Query variables: name -> (series selector, label) of their label_values(...)."""
    found = {}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"])
            assert match, variable["query"]
            found[variable["name"]] = (match[1], match[2])
    return found


def _regex_in_promql(value: str) -> str:
    """A literal inside a PromQL regex string, escaped as Grafana's Prometheus source does."""
    return re.escape(value).replace("\\", "\\\\")


def substitute(expr: str, values: Mapping[str, list[str]], rate_interval: str) -> str:
    """Fill in variables: several values become a regex alternation, as Grafana does for
    multi-value variables; ``$__rate_interval`` becomes ``rate_interval``."""

    def value(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        if name == "__rate_interval":
            return rate_interval
        chosen = values[name]
        return (
            chosen[0] if len(chosen) == 1 else "(" + "|".join(map(_regex_in_promql, chosen)) + ")"
        )

    return VARIABLE.sub(value, expr)
