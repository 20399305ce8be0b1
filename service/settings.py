"""Service settings, from ``EMWATCH_*`` environment variables or ``emwatch serve`` flags."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.store import DatabaseLimits

MiB = 1024 * 1024
READINESS_THREADS = 2  # /v1/ready's own, so a busy service still answers it


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
    token_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="How long a process reuses a token it read from the database; a token "
        "revoked on another replica keeps working there for at most this long (0: no cache).",
    )
    ingest_concurrency: int = Field(
        default=2,
        gt=0,
        description="Checks one process decodes, scores and stores at once; more wait their "
        "turn without holding a thread. Two overlap one check's database wait with another's "
        "scoring; more only contend for the interpreter (measured: bench/service_load.py).",
    )
    db_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Longest wait on the database for one request: connecting, a pooled "
        "connection, a lock, a transaction. Past it the request answers 503 with Retry-After.",
    )
    worker_threads: int = Field(
        default=16,
        gt=0,
        description="Threads for every other request that reads or writes the database.",
    )
    db_pool_size: int = Field(default=10, gt=0, description="Database connections kept open.")
    db_pool_overflow: int = Field(
        default=20, ge=0, description="Extra database connections opened under load."
    )
    ready_timeout_s: float = Field(
        default=1.0, gt=0, description="Longest /v1/ready waits for the database to take a write."
    )

    @model_validator(mode="after")
    def _a_connection_per_thread(self) -> ServiceSettings:
        threads = self.worker_threads + self.ingest_concurrency + READINESS_THREADS
        connections = self.db_pool_size + self.db_pool_overflow
        if connections < threads:
            raise ValueError(
                f"EMWATCH_DB_POOL_SIZE + EMWATCH_DB_POOL_OVERFLOW ({connections}) must be at "
                f"least EMWATCH_WORKER_THREADS + EMWATCH_INGEST_CONCURRENCY + "
                f"{READINESS_THREADS} ({threads}): a thread that waits for a connection times "
                "out instead of waiting for the database"
            )
        return self

    def database_limits(self) -> DatabaseLimits:
        return DatabaseLimits(self.db_timeout_s, self.db_pool_size, self.db_pool_overflow)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'emwatch.db').resolve()}"
