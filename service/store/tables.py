"""The relational schema, as of the newest migration. Time series are keyed by (run, step).

This module is what queries are written against; ``migrations/versions/`` is how a database
gets here, one revision at a time. ``tests/service/test_migrations.py`` checks that the two
agree on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("scopes", sa.String(100), nullable=False),  # space separated
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
)

probe_packs = sa.Table(
    "probe_packs",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("manifest", sa.JSON, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

# The archive lives in its own table: in SQLite a large blob in a row makes reading any column
# stored after it walk the blob's overflow pages, so pack lookups on every ingest would pay
# for the whole archive.
probe_pack_archives = sa.Table(
    "probe_pack_archives",
    metadata,
    sa.Column("name", sa.String(64), sa.ForeignKey("probe_packs.name"), primary_key=True),
    sa.Column("archive", sa.LargeBinary, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("probe_pack", sa.String(64), sa.ForeignKey("probe_packs.name"), nullable=False),
    sa.Column("model_id", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("detector_config", sa.JSON, nullable=False),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("prompt_set_hash", sa.String(64)),
    sa.Column("n_checks", sa.Integer, nullable=False, default=0),
    sa.Column("last_step", sa.BigInteger),
    sa.Column("last_check_at", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("baseline_step", sa.BigInteger),
    # Prompts per check, fixed by the run's first check: every later one must have as many.
    sa.Column("n_prompts", sa.Integer),
    # The token that created the run: only it (or an admin) may change the run. NULL for runs
    # created before revision 0003, which any ingest token may still change.
    sa.Column("created_by", sa.String(16)),
)

checks = sa.Table(
    "checks",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    # The run's detector after this check, so a late check replays from the nearest earlier
    # state instead of the whole series. NULL for checks stored before revision 0002.
    sa.Column("detector_state", sa.JSON),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("hook_point", sa.String(200), primary_key=True),
    sa.Column("feature", sa.String(100), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("zscore", sa.Float, nullable=False),
    sa.Column("cusum", sa.Float, nullable=False),
    sa.Column("per_prompt", sa.JSON, nullable=False),
)

alerts = sa.Table(
    "alerts",
    metadata,
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

# Resuming a run from a step moves its later checks and their scores out of the live series into
# the superseded_* tables, kept for audit; each resume that moved something is one row here.
resumes = sa.Table(
    "resumes",
    metadata,
    sa.Column("resume_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("from_step", sa.BigInteger, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("superseded", sa.Integer, nullable=False),
)

superseded_checks = sa.Table(
    "superseded_checks",
    metadata,
    sa.Column("resume_id", sa.Integer, sa.ForeignKey("resumes.resume_id"), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
)

superseded_scores = sa.Table(
    "superseded_scores",
    metadata,
    sa.Column("resume_id", sa.Integer, sa.ForeignKey("resumes.resume_id"), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("hook_point", sa.String(200), primary_key=True),
    sa.Column("feature", sa.String(100), primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("zscore", sa.Float, nullable=False),
    sa.Column("cusum", sa.Float, nullable=False),
    sa.Column("per_prompt", sa.JSON, nullable=False),
)


def _summary_columns() -> list[sa.Column[Any]]:
    """A window's summary; new columns on every call, as a column belongs to one table."""
    return [
        sa.Column("first_step", sa.BigInteger, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("n_samples", sa.Integer, nullable=False),
        sa.Column("n_above_unit", sa.Integer, nullable=False),
        sa.Column("reference", sa.String(400), nullable=False),
        sa.Column("ranking", sa.String(16), nullable=False),
        sa.Column("top", sa.JSON, nullable=False),  # the top samples, highest score first
    ]


# What each check said about the training samples of the steps since the previous check
# (``monitor.core.attribution``): its window, counts, and its top samples as JSON. Stored with
# the check, in the same transaction; a resume moves the rows after its step to
# ``superseded_sample_attributions``, as it moves the checks.
sample_attributions = sa.Table(
    "sample_attributions",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),  # the check's step
    *_summary_columns(),
)

superseded_sample_attributions = sa.Table(
    "superseded_sample_attributions",
    metadata,
    sa.Column("resume_id", sa.Integer, sa.ForeignKey("resumes.resume_id"), primary_key=True),
    sa.Column("step", sa.BigInteger, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.run_id"), nullable=False, index=True),
    *_summary_columns(),
)

# Alertmanager's webhook deliveries, one row per alert instance: an instance is its fingerprint
# (a hash of its labels) and its start time, stored in integer microseconds so the key is exact.
# Columns copied from labels are Text: Alertmanager may forward other systems' alerts too.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("starts_at_us", sa.BigInteger, primary_key=True),
    sa.Column("alertname", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("severity", sa.Text),
    sa.Column("run", sa.Text, index=True),
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

# The version of the tables above: the number of the newest migration (its file name starts with
# it). Every migration stamps its number here, so an emwatch older than the database, which only
# reads this table, refuses it instead of writing to tables it does not know.
SCHEMA_VERSION = 4
schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)
