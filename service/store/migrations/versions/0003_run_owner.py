"""Who created each run, and how many prompts its checks carry.

``created_by`` is the id of the token that created the run; only that token or an admin may
change the run from now on. Runs created before this revision have none and stay open to any
ingest token. ``n_prompts`` is filled from each run's stored scores.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_runs = sa.table("runs", sa.column("run_id", sa.Integer), sa.column("n_prompts", sa.Integer))
_scores = sa.table("scores", sa.column("run_id", sa.Integer), sa.column("per_prompt", sa.JSON))


def _fill_prompt_counts() -> None:
    connection = op.get_bind()
    for (run_id,) in connection.execute(sa.select(_runs.c.run_id)).all():
        per_prompt = connection.execute(
            sa.select(_scores.c.per_prompt).where(_scores.c.run_id == run_id).limit(1)
        ).scalar()
        if per_prompt is not None:
            connection.execute(
                _runs.update().where(_runs.c.run_id == run_id).values(n_prompts=len(per_prompt))
            )


def upgrade() -> None:
    op.add_column("runs", sa.Column("n_prompts", sa.Integer))
    op.add_column("runs", sa.Column("created_by", sa.String(16)))
    _fill_prompt_counts()
    op.execute("UPDATE schema_version SET version = 3")
