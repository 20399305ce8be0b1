"""Alertmanager's webhook payload, and the notifications the service records from it.

Alertmanager delivers a group of alerts per request, and delivers them again: every
``repeat_interval``, after a failed attempt, and once more when they resolve. An alert
*instance* is its fingerprint (a hash of its label set) plus its start time, so the service
keeps one record per instance and merges every repeat into it (``Store.record_notification``).
The API then lists what was sent once per alert, with its latest state and delivery count.

An alert on a run whose checks carry training-sample attribution has its ``description``
annotation recorded with one more sentence, naming the top samples of the run's latest
attribution window at or before the alerting step (``top_samples_sentence``): Prometheus'
rules cannot see them, and they are the first place to look for what pushed the run.

Payload format: Alertmanager's ``webhook_config``, version 4.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from monitor.core.attribution import AttributedSample, AttributionSummary
from service.schemas import timestamp
from service.store import Store
from service.store.records import NotificationRecord

log = logging.getLogger("emwatch.service")


def _text(max_length: int, min_length: int = 0) -> Any:
    """A bounded string without NUL characters (PostgreSQL cannot store them in text)."""
    return Field(min_length=min_length, max_length=max_length, pattern=r"^[^\x00]*$")


LabelName = Annotated[str, _text(128, min_length=1)]
LabelValue = Annotated[str, _text(1024)]
AnnotationValue = Annotated[str, _text(16384)]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NAMED_SAMPLES = 5  # the most samples an alert's description names


class _FromAlertmanager(BaseModel):
    # Alertmanager may add fields in later versions; only the ones used here are checked.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class WebhookAlert(_FromAlertmanager):
    status: Literal["firing", "resolved"]
    labels: dict[LabelName, LabelValue] = Field(max_length=64)
    annotations: dict[LabelName, AnnotationValue] = Field(default_factory=dict, max_length=64)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: Annotated[str, _text(2000)] = Field(default="", alias="generatorURL")
    fingerprint: str = Field(pattern=r"^[0-9a-f]{1,64}$")

    @field_validator("labels")
    @classmethod
    def _has_alertname(cls, labels: dict[str, str]) -> dict[str, str]:
        if "alertname" not in labels:
            raise ValueError("every alert needs an 'alertname' label")
        return labels


class WebhookPayload(_FromAlertmanager):
    version: Literal["4"] = Field(description="Alertmanager's webhook format version.")
    status: Literal["firing", "resolved"]
    receiver: Annotated[str, _text(200, min_length=1)]
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    alerts: list[WebhookAlert] = Field(max_length=1000)


class WebhookResult(BaseModel):
    received: int = Field(description="Alerts in this delivery.")
    new: int = Field(description="Alert instances seen for the first time.")
    truncated_alerts: int = Field(description="Alerts Alertmanager left out (max_alerts).")


class NotificationOut(BaseModel):
    fingerprint: str
    alertname: str
    status: Literal["firing", "resolved"]
    severity: str | None
    run: str | None
    hook_point: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    receiver: str = Field(description="The Alertmanager receiver of the latest delivery.")
    first_received_at: datetime
    last_received_at: datetime
    deliveries: int = Field(description="How many times Alertmanager delivered this instance.")

    @classmethod
    def of(cls, record: NotificationRecord) -> NotificationOut:
        return cls(
            fingerprint=record.fingerprint,
            alertname=record.alertname,
            status=record.status,
            severity=record.severity,
            run=record.run,
            hook_point=record.hook_point,
            labels=record.labels,
            annotations=record.annotations,
            starts_at=_EPOCH + timedelta(microseconds=record.starts_at_us),
            ends_at=timestamp(record.ends_at),
            generator_url=record.generator_url,
            receiver=record.receiver,
            first_received_at=datetime.fromtimestamp(record.first_received_at, UTC),
            last_received_at=datetime.fromtimestamp(record.last_received_at, UTC),
            deliveries=record.deliveries,
        )


class NotificationListOut(BaseModel):
    notifications: list[NotificationOut]


def _ends_at(alert: WebhookAlert) -> float | None:
    """Alertmanager sends Go's zero time (year 1) for alerts that have not ended."""
    if alert.ends_at is None or alert.ends_at.year <= 1:
        return None
    return alert.ends_at.timestamp()


def _named(sample: AttributedSample) -> str:
    if sample.index is None:
        return f"an unmatched sample of step {sample.step}"
    return f"#{sample.index}"


def _score(summary: AttributionSummary, sample: AttributedSample, first: bool) -> str:
    """The score as its window ranks it, its meaning spelt out on the first."""
    if summary.ranking == "push":
        return f"{sample.score:.1f}x{' the push of a typical sample' if first else ''}"
    return f"{sample.score:+.1f}{' units' if first else ''}"


def top_samples_sentence(summary: AttributionSummary) -> str | None:
    """``Top training samples since the last check (steps 41-50): #12 (6.2x the push of a
    typical sample), #57 (4.8x), ...`` (or ``(+3.1 units), ...`` where the window is ranked by
    projection), at most ``NAMED_SAMPLES``; None when the window has no top samples."""
    listed = ", ".join(
        f"{_named(sample)} ({_score(summary, sample, rank == 0)})"
        for rank, sample in enumerate(summary.top[:NAMED_SAMPLES])
    )
    if not listed:
        return None
    return (
        f"Top training samples since the last check (steps {summary.first_step}-"
        f"{summary.last_step}): {listed}."
    )


def _annotations(store: Store, alert: WebhookAlert) -> dict[str, str]:
    """The alert's annotations, its description naming the run's top training samples."""
    run = alert.labels.get("run")
    if run is None:
        return alert.annotations
    window = store.attribution_for_alert(
        run,
        hook_point=alert.labels.get("hook_point"),
        feature=alert.labels.get("feature"),
        severity=alert.labels.get("severity"),
    )
    sentence = top_samples_sentence(window.summary) if window is not None else None
    if sentence is None:
        return alert.annotations
    description = f"{alert.annotations.get('description', '')} {sentence}".strip()
    return {**alert.annotations, "description": description}


def _record(
    alert: WebhookAlert, annotations: dict[str, str], receiver: str, received_at: float
) -> NotificationRecord:
    return NotificationRecord(
        fingerprint=alert.fingerprint,
        starts_at_us=(alert.starts_at - _EPOCH) // timedelta(microseconds=1),
        alertname=alert.labels["alertname"],
        status=alert.status,
        severity=alert.labels.get("severity"),
        run=alert.labels.get("run"),
        hook_point=alert.labels.get("hook_point"),
        labels=alert.labels,
        annotations=annotations,
        ends_at=_ends_at(alert),
        generator_url=alert.generator_url,
        receiver=receiver,
        first_received_at=received_at,
        last_received_at=received_at,
        deliveries=1,
    )


def record_delivery(store: Store, payload: WebhookPayload, received_at: float) -> WebhookResult:
    """Record every alert of one webhook delivery, merging repeats of known instances."""
    new = sum(
        store.record_notification(
            _record(alert, _annotations(store, alert), payload.receiver, received_at)
        )
        for alert in payload.alerts
    )
    if payload.truncated_alerts:
        log.warning(
            "Alertmanager left %d alerts out of a notification to receiver %r; raise max_alerts "
            "in its webhook_config to record them all",
            payload.truncated_alerts,
            payload.receiver,
        )
    return WebhookResult(
        received=len(payload.alerts), new=new, truncated_alerts=payload.truncated_alerts
    )
