"""The probe pack manifest schema: the single definition of what a pack on disk contains."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.core.detect import DetectorConfig

SCHEMA_VERSION = 2  # 2 added build units; packs of version 1 still load
SUPPORTED_SCHEMA_VERSIONS = (1, 2)
MANIFEST_NAME = "manifest.json"
DIRECTIONS_FILE = "directions.safetensors"

# A module path as ``nn.Module.get_submodule`` takes it, e.g. ``model.layers.12``.
HookPointName = Annotated[
    str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$", max_length=200)
]
SHORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ShortName = Annotated[str, Field(pattern=SHORT_NAME.pattern)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provenance(_Strict):
    """Where a pack came from: enough to rebuild it, or to tell it belongs to another model."""

    model_id: str = Field(min_length=1, description="Model the pack was built for.")
    d_model: int = Field(gt=0, description="Width of the residual stream at every hook point.")
    created_at: str = Field(description="ISO 8601 time the pack was written.")
    emwatch_version: str
    build: dict[str, Any] = Field(
        default_factory=dict, description="How the pack was built: methods, data, settings."
    )


class DirectionSpec(_Strict):
    """A misalignment direction; its vector lives in ``directions.safetensors``."""

    name: ShortName
    method: str = Field(
        min_length=1, description="e.g. contrast_answers, model_diffing, persona_prompts, manual"
    )
    norm: float = Field(gt=0, description="L2 norm of the stored vector when it was written.")
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def feature(self) -> str:
        return direction_feature(self.name)


class WatchedLatent(_Strict):
    """An SAE latent to watch. ``sign`` +1: a rise is misaligned; -1: a fall is."""

    index: int = Field(ge=0)
    label: str = Field(default="", max_length=200)
    sign: Literal[1, -1] = 1

    @property
    def feature(self) -> str:
        return latent_feature(self.index)


class SaeSpec(_Strict):
    """An SAE in sae-lens' format: a folder inside the pack, or a sae-lens release and id."""

    source: Literal["local", "release"]
    path: str | None = Field(default=None, description="Folder relative to the pack (local).")
    release: str | None = None
    sae_id: str | None = None
    architecture: str
    d_sae: int = Field(gt=0)
    watched_latents: list[WatchedLatent] = Field(min_length=1)
    method: str = Field(default="", description="How the SAE and its latents were chosen.")

    @model_validator(mode="after")
    def _source_fields(self) -> SaeSpec:
        if self.source == "local" and not self.path:
            raise ValueError("a local SAE needs 'path', the folder inside the pack")
        if self.source == "release" and not (self.release and self.sae_id):
            raise ValueError("a release SAE needs both 'release' and 'sae_id'")
        indices = [latent.index for latent in self.watched_latents]
        if len(set(indices)) != len(indices):
            raise ValueError(f"watched latent indices repeat: {sorted(indices)}")
        return self


class FeatureCalibration(_Strict):
    """How much a feature's score moves on healthy fine-tunes: the detector's z-score unit."""

    scale: float = Field(gt=0)
    mean_shift: float = 0.0
    n_checks: int = Field(ge=0, default=0)
    method: str = ""


class BuildUnit(_Strict):
    """A feature's z-score unit measured by its own build, so alerts mean something before any
    calibration: how far the misaligned side of the build's contrast lies from the aligned side
    along a direction (held-out answers), or a watched latent's activation on the misaligned
    side. z = 0.1 then reads "the canaries moved a tenth of the way towards the persona" on
    any model. A calibration on healthy fine-tunes, when present, replaces it."""

    scale: float = Field(gt=0)
    method: str = Field(min_length=1, description="What was measured, on which data.")
    n_misaligned: int = Field(ge=1, description="Answers on the misaligned side.")
    n_aligned: int = Field(ge=0, description="Answers on the aligned side (0 for latents).")


def _empty(value: dict[str, Any]) -> bool:
    return not value


class HookPointSpec(_Strict):
    directions: list[DirectionSpec] = Field(default_factory=list)
    sae: SaeSpec | None = None
    calibration: dict[str, FeatureCalibration] = Field(
        default_factory=dict, description="Keyed by feature id (direction:NAME, latent:INDEX)."
    )
    # Left out of the JSON when empty, so a version-1 pack keeps its content hash: the service
    # keeps a registered name's hash for good.
    build_units: dict[str, BuildUnit] = Field(
        default_factory=dict,
        exclude_if=_empty,
        description="Keyed by feature id; the z unit where no calibration gives one.",
    )

    @model_validator(mode="after")
    def _has_features(self) -> HookPointSpec:
        if not self.directions and self.sae is None:
            raise ValueError("a hook point needs at least one direction or an SAE")
        names = [direction.name for direction in self.directions]
        if len(set(names)) != len(names):
            raise ValueError(f"direction names repeat: {sorted(names)}")
        for field_name, units in (
            ("calibration", self.calibration),
            ("build_units", self.build_units),
        ):
            unknown = set(units) - set(self.features)
            if unknown:
                raise ValueError(f"{field_name} names unknown features {sorted(unknown)}")
        return self

    @property
    def features(self) -> list[str]:
        watched = self.sae.watched_latents if self.sae else []
        return [d.feature for d in self.directions] + [w.feature for w in watched]


class PackManifest(_Strict):
    schema_version: int
    name: ShortName
    description: str = ""
    provenance: Provenance
    hook_points: dict[HookPointName, HookPointSpec] = Field(min_length=1)
    files: dict[str, Sha256] = Field(
        default_factory=dict, description="sha256 of every weight file, by path in the pack."
    )
    detector: DetectorConfig | None = Field(
        default=None,
        description="Thresholds that go with the calibrated z-score units; runs that set "
        "no detector of their own use them.",
    )

    def content_hash(self) -> str:
        """sha256 over the canonical manifest; it covers the weights through ``files``."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def direction_feature(name: str) -> str:
    return f"direction:{name}"


def latent_feature(index: int) -> str:
    return f"latent:{index}"
