"""Load, validate and write probe packs on disk.

``load_pack`` is strict on purpose: a pack that silently scores the wrong layer or a corrupted
vector would make every alert meaningless, so each problem is named precisely instead.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from monitor import __version__
from monitor.core.detect import DetectorConfig
from monitor.core.pack.errors import ProbePackError
from monitor.core.pack.manifest import (
    DIRECTIONS_FILE,
    MANIFEST_NAME,
    SCHEMA_VERSION,
    SUPPORTED_SCHEMA_VERSIONS,
    BuildUnit,
    DirectionSpec,
    FeatureCalibration,
    HookPointSpec,
    PackManifest,
    Provenance,
    SaeSpec,
    WatchedLatent,
)
from monitor.core.sae import LatentEncoder, SaeFormatError, load_sae_folder, read_sae_info
from monitor.core.sae.folder import CONFIG_FILE, WEIGHTS_FILE
from monitor.core.sae.release import load_sae_release
from monitor.core.validation import describe_errors

ReleaseLoader = Callable[[SaeSpec], LatentEncoder]


@dataclass(frozen=True)
class Direction:
    name: str
    feature: str
    unit: torch.Tensor  # [d_model] float32, unit norm: scores are scalar projections
    spec: DirectionSpec


@dataclass(frozen=True)
class HookProbe:
    """Everything scored at one hook point."""

    hook_point: str
    directions: tuple[Direction, ...]
    latents: LatentEncoder | None
    watched: tuple[WatchedLatent, ...]
    calibration: Mapping[str, FeatureCalibration]
    build_units: Mapping[str, BuildUnit]

    @property
    def features(self) -> list[str]:
        return [d.feature for d in self.directions] + [w.feature for w in self.watched]


@dataclass(frozen=True)
class ProbePack:
    directory: Path
    manifest: PackManifest
    hooks: Mapping[str, HookProbe]

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def d_model(self) -> int:
        return self.manifest.provenance.d_model

    @property
    def hook_points(self) -> list[str]:
        return list(self.manifest.hook_points)

    @property
    def content_hash(self) -> str:
        return self.manifest.content_hash()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _inside_pack(directory: Path, relative: str) -> Path:
    """Resolve a manifest path, refusing absolute paths and ``..`` (packs arrive over HTTP)."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise ProbePackError(
            f"path {relative!r} in {MANIFEST_NAME} must be relative to the "
            "pack and must not contain '..'"
        )
    return directory.joinpath(*pure.parts)


def read_manifest(directory: Path) -> PackManifest:
    """Parse and schema-check ``manifest.json`` without reading any weights."""
    if not directory.is_dir():
        raise ProbePackError(f"probe pack {directory} does not exist or is not a directory")
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        raise ProbePackError(f"probe pack {directory} has no {MANIFEST_NAME}")
    try:
        raw = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProbePackError(f"{manifest_path} is not valid JSON: {exc}") from exc
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        hint = (
            "upgrade emwatch"
            if isinstance(version, int) and version > SCHEMA_VERSION
            else ("rebuild the pack with `emwatch probes build`")
        )
        raise ProbePackError(
            f"{manifest_path}: schema_version {version!r} is not supported "
            f"(this emwatch reads {', '.join(map(str, SUPPORTED_SCHEMA_VERSIONS))}); {hint}"
        )
    try:
        return PackManifest.model_validate(raw)
    except ValidationError as exc:
        problems = describe_errors(exc, "manifest")
        raise ProbePackError(f"{manifest_path} does not match the schema: {problems}") from exc


def _check_hashes(directory: Path, manifest: PackManifest) -> None:
    for relative, expected in manifest.files.items():
        path = _inside_pack(directory, relative)
        if not path.is_file():
            raise ProbePackError(
                f"probe pack {directory}: file {relative!r} named in {MANIFEST_NAME} is missing"
            )
        actual = file_sha256(path)
        if actual != expected:
            raise ProbePackError(
                f"probe pack {directory}: {relative!r} has sha256 {actual[:12]}…"
                f" but the manifest records {expected[:12]}…; the file changed "
                "after the pack was written"
            )


def _require_listed(manifest: PackManifest, relative: str) -> None:
    if relative not in manifest.files:
        raise ProbePackError(
            f"{MANIFEST_NAME} does not list {relative!r} in 'files', so its "
            "content is not covered by the pack hash"
        )


def _load_directions(directory: Path, manifest: PackManifest) -> dict[str, torch.Tensor]:
    if not any(spec.directions for spec in manifest.hook_points.values()):
        return {}
    _require_listed(manifest, DIRECTIONS_FILE)
    try:
        return load_file(directory / DIRECTIONS_FILE)
    except (SafetensorError, OSError) as exc:
        raise ProbePackError(
            f"{directory / DIRECTIONS_FILE} is not a readable safetensors file: {exc}"
        ) from exc


def _direction(
    hook_point: str, spec: DirectionSpec, tensors: Mapping[str, torch.Tensor], d_model: int
) -> Direction:
    key = direction_tensor_key(hook_point, spec.name)
    if key not in tensors:
        raise ProbePackError(
            f"direction {spec.name!r} at {hook_point}: tensor {key!r} is "
            f"missing from {DIRECTIONS_FILE}"
        )
    vector = tensors[key].float()
    if tuple(vector.shape) != (d_model,):
        raise ProbePackError(
            f"direction {spec.name!r} at {hook_point} has shape "
            f"{tuple(vector.shape)}, expected ({d_model},) = d_model"
        )
    if not torch.isfinite(vector).all():
        raise ProbePackError(
            f"direction {spec.name!r} at {hook_point} holds NaN or infinite values"
        )
    norm = float(vector.norm())
    if norm == 0.0:
        raise ProbePackError(f"direction {spec.name!r} at {hook_point} is the zero vector")
    return Direction(spec.name, spec.feature, vector / norm, spec)


def _latent_encoder(
    directory: Path,
    manifest: PackManifest,
    hook_point: str,
    sae: SaeSpec,
    release_loader: ReleaseLoader | None,
) -> LatentEncoder | None:
    watched = tuple(latent.index for latent in sae.watched_latents)
    if sae.source == "release":
        return release_loader(sae) if release_loader else None
    assert sae.path is not None  # guaranteed by SaeSpec's validator
    folder = _inside_pack(directory, sae.path)
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        _require_listed(manifest, f"{sae.path.rstrip('/')}/{name}")
    info = read_sae_info(folder)
    if info.d_in != manifest.provenance.d_model:
        raise ProbePackError(
            f"SAE at {hook_point} has d_in={info.d_in} but the pack's d_model "
            f"is {manifest.provenance.d_model}"
        )
    if (info.architecture, info.d_sae) != (sae.architecture, sae.d_sae):
        raise ProbePackError(
            f"SAE at {hook_point} is {info.architecture} with d_sae={info.d_sae}"
            f" but the manifest says {sae.architecture} with d_sae={sae.d_sae}"
        )
    return load_sae_folder(folder, watched)


def _default_release_loader(sae: SaeSpec) -> LatentEncoder:
    assert sae.release is not None and sae.sae_id is not None
    return load_sae_release(
        sae.release, sae.sae_id, tuple(latent.index for latent in sae.watched_latents)
    )


def load_pack(
    directory: str | Path, *, release_loader: ReleaseLoader | None = _default_release_loader
) -> ProbePack:
    """Load and fully validate a probe pack.

    ``release_loader=None`` skips fetching SAEs named by a sae-lens release (their hook points
    then score directions only); the default fetches them through sae-lens.
    """
    directory = Path(directory)
    manifest = read_manifest(directory)
    _check_hashes(directory, manifest)
    tensors = _load_directions(directory, manifest)
    d_model = manifest.provenance.d_model
    hooks: dict[str, HookProbe] = {}
    try:
        for hook_point, spec in manifest.hook_points.items():
            directions = tuple(_direction(hook_point, d, tensors, d_model) for d in spec.directions)
            latents = (
                _latent_encoder(directory, manifest, hook_point, spec.sae, release_loader)
                if spec.sae
                else None
            )
            watched = tuple(spec.sae.watched_latents) if spec.sae and latents else ()
            hooks[hook_point] = HookProbe(
                hook_point,
                directions,
                latents,
                watched,
                dict(spec.calibration),
                dict(spec.build_units),
            )
    except SaeFormatError as exc:
        raise ProbePackError(f"probe pack {directory}: {exc}") from exc
    return ProbePack(directory, manifest, hooks)


def direction_tensor_key(hook_point: str, name: str) -> str:
    return f"{hook_point}/{name}"


def write_pack(
    directory: str | Path,
    *,
    name: str,
    provenance: Provenance,
    hook_points: Mapping[str, HookPointSpec],
    directions: Mapping[tuple[str, str], torch.Tensor] | None = None,
    sae_folders: Mapping[str, Path] | None = None,
    description: str = "",
    detector: DetectorConfig | None = None,
) -> ProbePack:
    """Write a pack and return it loaded back (so a written pack is always a valid one).

    ``directions`` maps (hook point, direction name) to a [d_model] vector; ``sae_folders``
    maps each local ``SaeSpec.path`` to the sae-lens folder to copy into the pack;
    ``detector`` holds the thresholds that go with the pack's z units.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    if directions:
        tensors = {
            direction_tensor_key(hook, dname): vector.detach().float().contiguous()
            for (hook, dname), vector in directions.items()
        }
        save_file(tensors, directory / DIRECTIONS_FILE)
        files[DIRECTIONS_FILE] = file_sha256(directory / DIRECTIONS_FILE)
    for relative, source in (sae_folders or {}).items():
        target = _inside_pack(directory, relative)
        target.mkdir(parents=True, exist_ok=True)
        for file_name in (CONFIG_FILE, WEIGHTS_FILE):
            shutil.copyfile(Path(source) / file_name, target / file_name)
            files[f"{relative.rstrip('/')}/{file_name}"] = file_sha256(target / file_name)
    manifest = PackManifest(
        schema_version=SCHEMA_VERSION,
        name=name,
        description=description,
        provenance=provenance,
        hook_points=dict(hook_points),
        files=files,
        detector=detector,
    )
    (directory / MANIFEST_NAME).write_text(
        json.dumps(manifest.model_dump(mode="json"), indent=2) + "\n"
    )
    return load_pack(directory, release_loader=None)


def add_directions(
    directory: str | Path, new: Mapping[str, Sequence[tuple[DirectionSpec, torch.Tensor]]]
) -> ProbePack:
    """Add directions (by hook point: spec and [d_model] vector) to an existing pack, replacing
    any of the same name; its other weights and its calibration are kept."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    unknown = sorted(set(new) - set(manifest.hook_points))
    if unknown:
        raise ProbePackError(f"hook points {unknown} are not in the pack {directory}")
    tensors = dict(_load_directions(directory, manifest))
    hook_points: dict[str, HookPointSpec] = {}
    for hook, spec in manifest.hook_points.items():
        added = {direction.name: direction for direction, _ in new.get(hook, ())}
        kept = [d for d in spec.directions if d.name not in added]
        hook_points[hook] = spec.model_copy(update={"directions": [*kept, *added.values()]})
        for direction, vector in new.get(hook, ()):
            tensors[direction_tensor_key(hook, direction.name)] = vector.detach().float()
    save_file({k: v.contiguous() for k, v in tensors.items()}, directory / DIRECTIONS_FILE)
    updated = PackManifest.model_validate(
        {
            **manifest.model_dump(mode="json"),
            "hook_points": {h: s.model_dump(mode="json") for h, s in hook_points.items()},
            "files": {**manifest.files, DIRECTIONS_FILE: file_sha256(directory / DIRECTIONS_FILE)},
        }
    )
    (directory / MANIFEST_NAME).write_text(
        json.dumps(updated.model_dump(mode="json"), indent=2) + "\n"
    )
    return load_pack(directory, release_loader=None)


def write_calibration(
    directory: str | Path,
    calibration: Mapping[str, Mapping[str, FeatureCalibration]],
    detector: DetectorConfig,
) -> ProbePack:
    """Store calibrated z-score units (by hook point, then feature) and the thresholds that go
    with them in an existing pack's manifest; weights are untouched."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    hook_points = {
        hook: spec.model_copy(update={"calibration": dict(calibration.get(hook, {}))})
        for hook, spec in manifest.hook_points.items()
    }
    updated = PackManifest.model_validate(
        {
            **manifest.model_dump(mode="json"),
            "hook_points": {h: s.model_dump(mode="json") for h, s in hook_points.items()},
            "detector": detector.model_dump(mode="json"),
        }
    )
    (directory / MANIFEST_NAME).write_text(
        json.dumps(updated.model_dump(mode="json"), indent=2) + "\n"
    )
    return load_pack(directory, release_loader=None)


def rename_pack(directory: str | Path, name: str) -> ProbePack:
    """Give an existing pack a new name. A service keeps a registered name's content for good
    (packs are immutable there), so a changed pack, a calibrated one for instance, needs one."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    updated = PackManifest.model_validate({**manifest.model_dump(mode="json"), "name": name})
    (directory / MANIFEST_NAME).write_text(
        json.dumps(updated.model_dump(mode="json"), indent=2) + "\n"
    )
    return load_pack(directory, release_loader=None)


def new_provenance(model_id: str, d_model: int, build: Mapping[str, Any]) -> Provenance:
    """Provenance stamped with the current time and emwatch version."""
    return Provenance(
        model_id=model_id,
        d_model=d_model,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        emwatch_version=__version__,
        build=dict(build),
    )


def direction_spec(name: str, vector: torch.Tensor, method: str, **details: Any) -> DirectionSpec:
    """A ``DirectionSpec`` whose recorded norm is the vector's."""
    return DirectionSpec(
        name=name, method=method, norm=float(vector.float().norm()), details=details
    )
