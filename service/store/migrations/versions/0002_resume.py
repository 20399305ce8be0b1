"""Resume: superseded checks kept for audit, and the detector's state after every check.

The run's single ``detector_state`` (the state after its latest check) moves to that check's row;
later checks each store their own, so a late check or a resume replays from the nearest earlier
state. Checks stored before this revision have none: the first replay that crosses them
recomputes it from the nearest state before them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_runs = sa.table(
    "runs",
    sa.column("run_id", sa.Integer),
    sa.column("last_step", sa.BigInteger),
    sa.column("detector_state", sa.JSON),
    sa.column("baseline_step", sa.BigInteger),
)
_checks = sa.table(
    "checks",
    sa.column("run_id", sa.Integer),
    sa.column("step", sa.BigInteger),
    sa.column("detector_state", sa.JSON),
)


def _move_states_to_checks() -> None:
    connection = op.get_bind()
    states = connection.execute(
        sa.select(_runs.c.run_id, _runs.c.last_step, _runs.c.detector_state).where(
            _runs.c.detector_state.is_not(None), _runs.c.last_step.is_not(None)
        )
    ).all()
    for run_id, last_step, state in states:
        connection.execute(
            _checks.update()
            .where(_checks.c.run_id == run_id, _checks.c.step == last_step)
            .values(detector_state=state)
        )
        connection.execute(
            _runs.update()
            .where(_runs.c.run_id == run_id)
            .values(baseline_step=state["baseline_step"])
        )


def upgrade() -> None:
    op.add_column("checks", sa.Column("detector_state", sa.JSON))
    op.add_column("runs", sa.Column("baseline_step", sa.BigInteger))
    _move_states_to_checks()
    # Plain ALTER TABLE (SQLite >= 3.35 has DROP COLUMN): a batch copy of ``runs`` would drop
    # a table other tables reference, which SQLite refuses while foreign keys are on.
    op.drop_column("runs", "detector_state")
    op.create_table(
        "resumes",
        sa.Column("resume_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("from_step", sa.BigInteger, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("superseded", sa.Integer, nullable=False),
    )
    op.create_index("ix_resumes_run_id", "resumes", ["run_id"])
    op.create_table(
        "superseded_checks",
        sa.Column("resume_id", sa.Integer, sa.ForeignKey("resumes.resume_id"), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_superseded_checks_run_id", "superseded_checks", ["run_id"])
    op.create_table(
        "superseded_scores",
        sa.Column("resume_id", sa.Integer, sa.ForeignKey("resumes.resume_id"), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("hook_point", sa.String(200), primary_key=True),
        sa.Column("feature", sa.String(100), primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("zscore", sa.Float, nullable=False),
        sa.Column("cusum", sa.Float, nullable=False),
        sa.Column("per_prompt", sa.JSON, nullable=False),
    )
    op.create_index("ix_superseded_scores_run_id", "superseded_scores", ["run_id"])
    op.execute("UPDATE schema_version SET version = 2")
