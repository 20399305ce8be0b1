"""Which training samples push towards the persona: the summary a check carries.

Between two checks the trainer reads every training sample it trains on from the training pass
itself, two ways, on the pack's ranking features (``monitor.trainer.attribution``):

- *projection* (where the sample sits): its answer tokens pooled at the hook point, as a check
  pools a canary, as a shift in the pack's units from the median of the run's first samples
  (``monitor.core.sample_units``), the screen's score;
- *push* (what training on it does): minus the gradient of the loss with respect to the hook
  point's output, summed over the sample's tokens, along the direction: to first order how far
  this sample's update moves the residual stream towards the persona, as a multiple of the
  typical push of the run's first samples (the median of their absolute push).

Samples are ranked by push where the backward pass gave it, else by projection (``ranking``).
The check then carries only a compact summary of that window: how many samples were scored, how
many sat above one unit, and the top few with their dataset index (and their answer text only
if the user opts in). The summary travels in the check's metadata, so it survives the spool and
a replay with the check it belongs to.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from monitor.core.validation import describe_errors

# The largest summary a check may carry (the JSON text), and its longest list and text.
MAX_SUMMARY_BYTES = 256 * 1024
MAX_TOP = 100
MAX_TEXT_CHARS = 400


class AttributionError(ValueError):
    """An attribution summary is malformed; the message says what is wrong."""


class AttributedSample(BaseModel):
    """One training sample among the highest-scoring of its window."""

    model_config = ConfigDict(extra="forbid")

    index: int | None = Field(
        default=None,
        ge=0,
        description="its index in the training dataset; null if it could not be matched",
    )
    step: int = Field(ge=0, description="the optimizer step it was trained in")
    score: float = Field(
        allow_inf_nan=False, description="what the window is ranked by (see ``ranking``)"
    )
    feature: str = Field(max_length=400, description="'HOOK_POINT FEATURE' that gives the score")
    projection: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="its largest shift from the reference, in pack units (the screen's score)",
    )
    text: str | None = Field(
        default=None, max_length=MAX_TEXT_CHARS, description="its answer, if opted in"
    )


class AttributionSummary(BaseModel):
    """The training samples of the steps ``first_step``..``last_step`` (inclusive)."""

    model_config = ConfigDict(extra="forbid")

    first_step: int = Field(ge=0)
    last_step: int = Field(ge=0)
    n_samples: int = Field(ge=0, description="training samples scored in the window")
    n_above_unit: int = Field(ge=0, description="of them, scored above one unit")
    reference: str = Field(max_length=400, description="what a projection of 0 is")
    ranking: Literal["push", "projection"] = Field(
        default="projection", description="what ``score`` is: push where the backward pass gave it"
    )
    top: list[AttributedSample] = Field(max_length=MAX_TOP, description="highest score first")

    @model_validator(mode="after")
    def _consistent(self) -> AttributionSummary:
        if self.last_step < self.first_step:
            raise ValueError(f"last_step {self.last_step} is before first_step {self.first_step}")
        if self.n_above_unit > self.n_samples:
            raise ValueError(f"n_above_unit {self.n_above_unit} exceeds n_samples")
        if len(self.top) > self.n_samples:
            raise ValueError(f"{len(self.top)} top samples but only {self.n_samples} scored")
        return self

    @property
    def share_above_unit(self) -> float:
        return self.n_above_unit / self.n_samples if self.n_samples else 0.0

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


def parse_summary(text: str) -> AttributionSummary:
    """The summary in ``text``, or ``AttributionError`` naming what is wrong."""
    if len(text.encode()) > MAX_SUMMARY_BYTES:
        raise AttributionError(
            f"attribution summary is {len(text.encode())} bytes; at most {MAX_SUMMARY_BYTES} "
            f"(send fewer top samples, at most {MAX_TOP}, or no text)"
        )
    try:
        return AttributionSummary.model_validate_json(text)
    except ValidationError as exc:
        problems = describe_errors(exc, "summary", limit=3)
        raise AttributionError(f"attribution summary is malformed: {problems}") from exc
