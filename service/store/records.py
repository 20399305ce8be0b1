"""Plain records the store returns: the service never hands SQL rows around."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TokenRecord:
    token_id: str
    name: str
    secret_sha256: str
    scopes: frozenset[str]
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class PackRecord:
    name: str
    content_hash: str
    manifest: dict[str, Any]
    created_at: float
    size_bytes: int


@dataclass(frozen=True)
class RunRecord:
    run_id: int
    name: str
    probe_pack: str
    model_id: str
    status: str
    detector_config: dict[str, Any]
    labels: dict[str, str]
    prompt_set_hash: str | None
    detector_state: dict[str, Any] | None
    n_checks: int
    last_step: int | None
    last_check_at: float | None
    created_at: float
    finished_at: float | None


@dataclass(frozen=True)
class ScoreRow:
    step: int
    hook_point: str
    feature: str
    value: float
    zscore: float
    cusum: float
    per_prompt: list[float]


@dataclass(frozen=True)
class AlertRow:
    alert_id: str
    hook_point: str
    feature: str
    rule: str
    severity: str
    state: str
    threshold: float
    value: float
    peak: float
    started_step: int
    started_at: float
    firing_step: int | None
    firing_at: float | None
    resolved_step: int | None
    resolved_at: float | None


@dataclass(frozen=True)
class StoredCheck:
    """A check as the detector replays it: per-prompt values per (hook point, feature)."""

    step: int
    received_at: float
    per_prompt: dict[tuple[str, str], list[float]]


@dataclass(frozen=True)
class NotificationRecord:
    """One alert instance Alertmanager sent to the webhook, with its latest state."""

    fingerprint: str
    starts_at_us: int
    alertname: str
    status: str
    severity: str | None
    run: str | None
    hook_point: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    ends_at: float | None
    generator_url: str
    receiver: str
    first_received_at: float
    last_received_at: float
    deliveries: int
