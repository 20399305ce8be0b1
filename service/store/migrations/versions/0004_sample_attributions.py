"""Training-sample attribution: the summary a check may carry of the samples trained on since
the previous check (``monitor.core.attribution``), one row per check that carried one, and the
rows a resume superseded, kept for audit as superseded checks are.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _summary_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("first_step", sa.BigInteger, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("n_samples", sa.Integer, nullable=False),
        sa.Column("n_above_unit", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(400), nullable=False),
        sa.Column("ranking", sa.String(16), nullable=False),
        sa.Column("top", sa.JSON, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sample_attributions",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        *_summary_columns(),
    )
    op.create_table(
        "superseded_sample_attributions",
        sa.Column("resume_id", sa.Integer, sa.ForeignKey("resumes.resume_id"), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False),
        *_summary_columns(),
    )
    op.create_index(
        "ix_superseded_sample_attributions_run_id", "superseded_sample_attributions", ["run_id"]
    )
    op.execute("UPDATE schema_version SET version = 4")
