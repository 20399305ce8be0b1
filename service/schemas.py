"""Request and response bodies of the HTTP API (v1)."""

from __future__ import annotations

import heapq
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from monitor.core.detect import DetectorConfig
from monitor.core.naming import RUN_NAME_PATTERN
from monitor.core.pack.manifest import SHORT_NAME
from monitor.core.wire import MAX_STEP
from service.auth import Scope
from service.store.records import (
    AlertRow,
    AttributionWindow,
    PackRecord,
    ResumeRecord,
    RunRecord,
    ScoreRow,
    TokenRecord,
)

RunName = Annotated[str, Field(pattern=RUN_NAME_PATTERN, description="Run name.")]
LabelKey = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
LabelValue = Annotated[str, Field(max_length=200)]
PackName = Annotated[str, Field(pattern=SHORT_NAME.pattern)]
HookPoint = Annotated[str, Field(min_length=1, max_length=200)]


def timestamp(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


class _Body(BaseModel):
    # JSON has no NaN or Infinity, but Python's parser takes them; refuse them at the door.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ErrorOut(BaseModel):
    error: str = Field(description="Machine-readable code, e.g. step_conflict.")
    detail: str = Field(description="What is wrong and how to fix it.")


# -- probe packs -------------------------------------------------------------------------------


class PackOut(BaseModel):
    name: str
    content_hash: str
    description: str
    model_id: str
    d_model: int
    hook_points: dict[str, list[str]] = Field(description="Features watched at each hook point.")
    size_bytes: int
    created_at: datetime

    @classmethod
    def of(cls, record: PackRecord) -> PackOut:
        manifest = record.manifest
        hooks: dict[str, list[str]] = {}
        for hook, spec in manifest["hook_points"].items():
            latents = (spec.get("sae") or {}).get("watched_latents", [])
            hooks[hook] = [f"direction:{d['name']}" for d in spec.get("directions", [])] + [
                f"latent:{w['index']}" for w in latents
            ]
        return cls(
            name=record.name,
            content_hash=record.content_hash,
            description=manifest.get("description", ""),
            model_id=manifest["provenance"]["model_id"],
            d_model=manifest["provenance"]["d_model"],
            hook_points=hooks,
            size_bytes=record.size_bytes,
            created_at=datetime.fromtimestamp(record.created_at, UTC),
        )


class PackDetailOut(PackOut):
    manifest: dict[str, Any]


# -- runs --------------------------------------------------------------------------------------


class RunCreate(_Body):
    name: RunName
    probe_pack: PackName = Field(description="Name of a registered probe pack.")
    model_id: str = Field(default="", max_length=200, description="The model being trained.")
    d_model: int | None = Field(
        default=None, gt=0, le=2**20, description="Checked against the pack."
    )
    hook_points: list[HookPoint] | None = Field(
        default=None, max_length=256, description="Checked against the pack."
    )
    prompt_set_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    detector: DetectorConfig | None = Field(
        default=None,
        description="Thresholds for this run; default: the probe pack's calibrated ones, else "
        "the service's defaults.",
    )
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        max_length=32,
        json_schema_extra={"additionalProperties": False},  # keys must match the pattern
    )


class RunUpdate(_Body):
    status: Literal["running", "finished", "failed"]


class ResumeRequest(_Body):
    from_step: int = Field(
        ge=0,
        le=MAX_STEP,
        description="The step training restarted from: every check after it is superseded.",
    )
    reopen: bool = Field(default=False, description="Set a finished or failed run running again.")


class ResumeOut(BaseModel):
    from_step: int
    at: datetime
    superseded: int = Field(description="Checks this resume superseded.")

    @classmethod
    def of(cls, record: ResumeRecord) -> ResumeOut:
        return cls(
            from_step=record.from_step,
            at=datetime.fromtimestamp(record.at, UTC),
            superseded=record.superseded,
        )


class RunOut(BaseModel):
    name: str
    probe_pack: str
    model_id: str
    status: Literal["running", "finished", "failed"]
    labels: dict[str, str]
    detector: DetectorConfig
    prompt_set_hash: str | None
    n_checks: int
    baseline_step: int | None
    last_step: int | None
    last_check_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    created_by: str | None = Field(
        description="Id of the token that created the run: it (or an admin) may change the run."
    )
    resumes: list[ResumeOut] = Field(
        description="Resumes that superseded checks, oldest first (POST /v1/runs/{run}/resume)."
    )

    @classmethod
    def of(cls, run: RunRecord, resumes: list[ResumeRecord]) -> RunOut:
        return cls(
            name=run.name,
            probe_pack=run.probe_pack,
            model_id=run.model_id,
            status=run.status,
            labels=run.labels,
            detector=DetectorConfig.model_validate(run.detector_config),
            prompt_set_hash=run.prompt_set_hash,
            n_checks=run.n_checks,
            baseline_step=run.baseline_step,
            last_step=run.last_step,
            last_check_at=timestamp(run.last_check_at),
            created_at=datetime.fromtimestamp(run.created_at, UTC),
            finished_at=timestamp(run.finished_at),
            created_by=run.created_by,
            resumes=[ResumeOut.of(r) for r in resumes],
        )


class ResumedRunOut(RunOut):
    superseded: int = Field(description="Checks this call superseded (0 when repeated).")


# -- checks, scores, alerts --------------------------------------------------------------------


class SignalOut(BaseModel):
    hook_point: str
    feature: str
    value: float = Field(description="Mean over canary prompts of the raw feature value.")
    zscore: float = Field(description="Shift from the baseline towards misalignment, in z units.")
    cusum: float


class AlertOut(BaseModel):
    id: str
    hook_point: str
    feature: str
    rule: str
    severity: Literal["warning", "critical"]
    state: Literal["pending", "firing", "resolved"]
    threshold: float
    value: float
    peak: float
    started_step: int
    firing_step: int | None
    resolved_step: int | None
    started_at: datetime
    firing_at: datetime | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, row: AlertRow) -> AlertOut:
        return cls(
            id=row.alert_id,
            hook_point=row.hook_point,
            feature=row.feature,
            rule=row.rule,
            severity=row.severity,
            state=row.state,
            threshold=row.threshold,
            value=row.value,
            peak=row.peak,
            started_step=row.started_step,
            firing_step=row.firing_step,
            resolved_step=row.resolved_step,
            started_at=datetime.fromtimestamp(row.started_at, UTC),
            firing_at=timestamp(row.firing_at),
            resolved_at=timestamp(row.resolved_at),
        )


class CheckResult(BaseModel):
    run: str
    step: int
    duplicate: bool = Field(description="True if this (run, step) was already stored as is.")
    signals: list[SignalOut]
    alerts: list[AlertOut] = Field(description="The run's pending and firing alerts.")


class ScorePointOut(BaseModel):
    step: int
    hook_point: str
    feature: str
    value: float
    zscore: float
    cusum: float
    per_prompt: list[float]
    superseded: bool = Field(
        description="From a check a resume superseded (only with include_superseded=true)."
    )

    @classmethod
    def of(cls, row: ScoreRow) -> ScorePointOut:
        return cls(**row.__dict__)


class ScoreSeriesOut(BaseModel):
    run: str
    points: list[ScorePointOut]


class AlertListOut(BaseModel):
    run: str
    alerts: list[AlertOut]


# -- training-sample attribution ---------------------------------------------------------------


class AttributionWindowOut(BaseModel):
    step: int = Field(description="The check that carried this window's summary.")
    first_step: int = Field(description="First training step of the window (inclusive).")
    last_step: int = Field(description="Last training step of the window (inclusive).")
    n_samples: int = Field(description="Training samples scored in the window.")
    n_above_unit: int = Field(description="Of them, how many scored above one unit.")
    share_above_unit: float = Field(description="n_above_unit / n_samples; 0 with no samples.")
    reference: str = Field(description="What a projection of 0 is.")
    ranking: str = Field(
        description="What the samples' score is: 'push' (the first-order push of training on "
        "the sample towards the persona, in multiples of the run's typical early sample) or "
        "'projection' (its shift in the probe pack's units), where no gradient was seen."
    )

    @classmethod
    def of(cls, window: AttributionWindow) -> AttributionWindowOut:
        summary = window.summary
        return cls(
            step=window.step,
            first_step=summary.first_step,
            last_step=summary.last_step,
            n_samples=summary.n_samples,
            n_above_unit=summary.n_above_unit,
            share_above_unit=summary.share_above_unit,
            reference=summary.reference,
            ranking=summary.ranking,
        )


class AttributedSampleOut(BaseModel):
    index: int | None = Field(
        description="Its index in the training dataset; null if the trainer could not match it."
    )
    step: int = Field(description="The optimizer step it was trained in.")
    score: float = Field(description="What its window is ranked by (the window's ranking).")
    feature: str = Field(description="'HOOK_POINT FEATURE' that gives the score.")
    projection: float | None = Field(
        description="Its largest shift from the reference towards the persona, in the probe "
        "pack's units (where it sits, as the screen scores it)."
    )
    text: str | None = Field(description="Its answer, if the trainer opted in to send it.")
    check_step: int = Field(description="The check whose window it is in.")


class SampleAttributionOut(BaseModel):
    run: str
    windows: list[AttributionWindowOut] = Field(
        description="Every selected window (one per check that carried a summary), in step order."
    )
    samples: list[AttributedSampleOut] = Field(
        description="The highest-scoring samples over the selected windows' top lists, highest "
        "first. A sample trained in several windows (several epochs) appears once per window."
    )

    @classmethod
    def of(cls, run: str, windows: list[AttributionWindow], top: int) -> SampleAttributionOut:
        """Rank every window's top list together; ties keep check step and window rank order."""
        ranked = heapq.nlargest(
            top,
            ((window.step, sample) for window in windows for sample in window.summary.top),
            key=lambda item: item[1].score,
        )
        return cls(
            run=run,
            windows=[AttributionWindowOut.of(window) for window in windows],
            samples=[
                AttributedSampleOut(**sample.model_dump(), check_step=check_step)
                for check_step, sample in ranked
            ],
        )


# -- tokens and health -------------------------------------------------------------------------


class TokenCreate(_Body):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=3)


class TokenOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, record: TokenRecord) -> TokenOut:
        return cls(
            id=record.token_id,
            name=record.name,
            scopes=sorted(record.scopes),
            created_at=datetime.fromtimestamp(record.created_at, UTC),
            revoked_at=timestamp(record.revoked_at),
        )


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token itself; shown once, store it now.")


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str


class ReadyOut(BaseModel):
    status: Literal["ready"]
    database: str
