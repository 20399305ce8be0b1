"""The schema emwatch 0.1.0 released, exactly as its ``metadata.create_all`` made it.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("token_id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float),
    )
    op.create_table(
        "probe_packs",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("manifest", sa.JSON, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "probe_pack_archives",
        sa.Column("name", sa.String(64), sa.ForeignKey("probe_packs.name"), primary_key=True),
        sa.Column("archive", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("probe_pack", sa.String(64), sa.ForeignKey("probe_packs.name"), nullable=False),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detector_config", sa.JSON, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("prompt_set_hash", sa.String(64)),
        sa.Column("detector_state", sa.JSON),
        sa.Column("n_checks", sa.Integer, nullable=False),
        sa.Column("last_step", sa.BigInteger),
        sa.Column("last_check_at", sa.Float),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
    )
    op.create_table(
        "checks",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_table(
        "scores",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("hook_point", sa.String(200), primary_key=True),
        sa.Column("feature", sa.String(100), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("zscore", sa.Float, nullable=False),
        sa.Column("cusum", sa.Float, nullable=False),
        sa.Column("per_prompt", sa.JSON, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("alert_id", sa.String(400), primary_key=True),
        sa.Column("hook_point", sa.String(200), nullable=False),
        sa.Column("feature", sa.String(100), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("peak", sa.Float, nullable=False),
        sa.Column("started_step", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("firing_step", sa.BigInteger),
        sa.Column("firing_at", sa.Float),
        sa.Column("resolved_step", sa.BigInteger),
        sa.Column("resolved_at", sa.Float),
    )
    op.create_table(
        "notifications",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("starts_at_us", sa.BigInteger, primary_key=True),
        sa.Column("alertname", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.Text),
        sa.Column("run", sa.Text),
        sa.Column("hook_point", sa.Text),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("annotations", sa.JSON, nullable=False),
        sa.Column("ends_at", sa.Float),
        sa.Column("generator_url", sa.String(2000), nullable=False),
        sa.Column("receiver", sa.String(200), nullable=False),
        sa.Column("first_received_at", sa.Float, nullable=False),
        sa.Column("last_received_at", sa.Float, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
    )
    op.create_index("ix_notifications_run", "notifications", ["run"])
    version = op.create_table("schema_version", sa.Column("version", sa.Integer, nullable=False))
    op.bulk_insert(version, [{"version": 1}])
