"""Queries more than one part of the store builds on, and the rows they return as records."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from monitor.core.attribution import AttributionSummary
from service.store import tables as t
from service.store.records import AlertRow, AttributionWindow, RunRecord, ScoreRow

# Runs with their pack's content hash. No JSON state rides along, so listing many runs stays
# cheap however long they have been running.
RUN_COLUMNS = (*[c for c in t.runs.c], t.probe_packs.c.content_hash.label("pack_hash"))
SCORE_COLUMNS = (
    t.scores.c.step,
    t.scores.c.hook_point,
    t.scores.c.feature,
    t.scores.c.value,
    t.scores.c.zscore,
    t.scores.c.cusum,
    t.scores.c.per_prompt,
)

# A window's summary is its row but the key; /metrics reads each running run's latest window
# without its top samples, labelled apart from the run's own columns (``last_step``).
_SUMMARY_COLUMNS = [c for c in t.sample_attributions.c if c.name not in ("run_id", "step")]
_COUNT_COLUMNS = [c for c in _SUMMARY_COLUMNS if c.name != "top"]
WINDOW_COUNTS = tuple(c.label(f"window_{c.name}") for c in _COUNT_COLUMNS)


def select_runs() -> sa.Select[tuple[object, ...]]:
    return sa.select(*RUN_COLUMNS).join(t.probe_packs, t.probe_packs.c.name == t.runs.c.probe_pack)


def to_run(row: RowMapping) -> RunRecord:
    return RunRecord(**{k: row[k] for k in RunRecord.__dataclass_fields__})


def to_alert(row: RowMapping) -> AlertRow:
    return AlertRow(**{k: row[k] for k in AlertRow.__dataclass_fields__})


def to_score(row: RowMapping, superseded: bool = False) -> ScoreRow:
    return ScoreRow(
        row["step"],
        row["hook_point"],
        row["feature"],
        row["value"],
        row["zscore"],
        row["cusum"],
        list(row["per_prompt"]),
        superseded,
    )


def attribution_values(summary: AttributionSummary) -> dict[str, Any]:
    """A summary as the columns of ``sample_attributions`` (all but the key). Nulls are kept:
    a sample's ``index`` may be null but not absent."""
    return summary.model_dump(mode="json")


def to_window(row: RowMapping) -> AttributionWindow:
    fields = {c.name: row[c.name] for c in _SUMMARY_COLUMNS}
    return AttributionWindow(row["step"], AttributionSummary.model_validate(fields))


def to_window_counts(row: RowMapping) -> AttributionSummary | None:
    """The window read with ``WINDOW_COUNTS``, with no top samples; None if there is none."""
    if row["window_n_samples"] is None:
        return None
    fields = {c.name: row[f"window_{c.name}"] for c in _COUNT_COLUMNS}
    return AttributionSummary.model_validate({**fields, "top": []})
