"""Plain records the store returns: the service never hands SQL rows around."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.core.attribution import AttributionSummary


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
    n_checks: int
    last_step: int | None
    last_check_at: float | None
    created_at: float
    finished_at: float | None
    baseline_step: int | None
    n_prompts: int | None
    created_by: str | None
    pack_hash: str  # content hash of its probe pack: the key of the loaded-pack cache


@dataclass(frozen=True)
class ResumeRecord:
    """One resume that superseded checks: from which step, when, and how many."""

    from_step: int
    at: float
    superseded: int


@dataclass(frozen=True)
class ScoreRow:
    step: int
    hook_point: str
    feature: str
    value: float
    zscore: float
    cusum: float
    per_prompt: list[float]
    superseded: bool = False  # from a check a resume superseded (audit only)


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
    content_hash: str
    received_at: float
    per_prompt: dict[tuple[str, str], list[float]]


@dataclass(frozen=True)
class SavedState:
    """The detector's state as stored after the check at ``step``."""

    step: int
    state: dict[str, Any]


@dataclass(frozen=True)
class AttributionWindow:
    """The attribution summary the check at ``step`` carried: the samples trained on since the
    check before it."""

    step: int
    summary: AttributionSummary


@dataclass(frozen=True)
class MetricsSnapshot:
    """Everything ``/metrics`` shows, read in one snapshot with a fixed number of queries."""

    runs_by_status: dict[str, int]
    running: list[RunRecord]
    latest_scores: dict[int, list[ScoreRow]]  # run_id -> scores of its latest check
    active_alerts: dict[int, list[AlertRow]]  # run_id -> pending and firing alerts
    # run_id -> its latest attribution window, read without its top samples (``top`` is empty)
    latest_attribution: dict[int, AttributionSummary]


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
