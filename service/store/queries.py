"""Queries more than one part of the store builds on, and the rows they return as records."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from service.store import tables as t
from service.store.records import AlertRow, RunRecord, ScoreRow

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
