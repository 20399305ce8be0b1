"""Service settings, from ``EMWATCH_*`` environment variables or ``emwatch serve`` flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.store import DatabaseLimits

MiB = 1024 * 1024


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMWATCH_", extra="ignore")

    data_dir: Path = Field(default=Path(".emwatch"), description="SQLite file, unpacked packs.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql://user@host/db; default: SQLite in data_dir.",
    )
    max_check_bytes: int = Field(default=64 * MiB, gt=0, description="Largest check body.")
    max_pack_bytes: int = Field(default=1024 * MiB, gt=0, description="Largest pack upload.")
    max_json_bytes: int = Field(default=1 * MiB, gt=0, description="Largest other request body.")
    bootstrap_token: str | None = Field(
        default=None, description="An admin token to accept (e.g. from a secret store)."
    )
    torch_threads: int = Field(
        default=1,
        gt=0,
        description="Intra-op threads for scoring. A check is a few small matmuls: more "
        "threads only add synchronisation (and stall when cores are busy); scale out with "
        "processes instead.",
    )
    metrics_require_token: bool = Field(
        default=False, description="Require a 'read' token on /metrics (Prometheus supports it)."
    )
    max_prompts_per_check: int = Field(
        default=1024,
        gt=0,
        description="Most canary prompts one check may carry (emwatch's canary sets have 16-64).",
    )
    max_abs_activation: float = Field(
        default=1e6,
        gt=0,
        description="Largest magnitude of an activation value a check may carry; residual "
        "streams stay far below, and a larger value would swamp the run's CUSUM for good.",
    )
    ingest_concurrency: int = Field(
        default=8,
        gt=0,
        description="Checks one process decodes, scores and stores at once; more wait their "
        "turn without holding a thread. Bounds the threads that contend for the interpreter "
        "while one of them holds a run's lock.",
    )
    db_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Longest wait on the database for one request: connecting, a pooled "
        "connection, a lock, a transaction. Past it the request answers 503 with Retry-After.",
    )
    db_pool_size: int = Field(default=10, gt=0, description="Database connections kept open.")
    db_pool_overflow: int = Field(
        default=20, ge=0, description="Extra database connections opened under load."
    )
    ready_timeout_s: float = Field(
        default=1.0, gt=0, description="Longest /v1/ready waits for the database to take a write."
    )

    def database_limits(self) -> DatabaseLimits:
        return DatabaseLimits(self.db_timeout_s, self.db_pool_size, self.db_pool_overflow)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'emwatch.db').resolve()}"
