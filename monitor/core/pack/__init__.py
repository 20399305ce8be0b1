"""Probe packs: the contract between probe building and scoring.

A pack is a directory holding ``manifest.json`` (schema, provenance, hashes) and safetensors
weights. ``load_pack`` validates everything and names the exact problem; ``write_pack`` (with
``add_directions``, which adds directions found later, ``write_calibration``, which adds
calibrated z-units and thresholds, and ``rename_pack``) are the only writers, so every pack on
disk went through the same schema.
"""

from monitor.core.pack.errors import ProbePackError
from monitor.core.pack.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    BuildUnit,
    DirectionSpec,
    FeatureCalibration,
    HookPointSpec,
    PackManifest,
    Provenance,
    SaeSpec,
    WatchedLatent,
)
from monitor.core.pack.pack import (
    Direction,
    HookProbe,
    ProbePack,
    add_directions,
    load_pack,
    rename_pack,
    write_calibration,
    write_pack,
)

__all__ = [
    "MANIFEST_NAME",
    "SCHEMA_VERSION",
    "BuildUnit",
    "Direction",
    "DirectionSpec",
    "FeatureCalibration",
    "HookPointSpec",
    "HookProbe",
    "PackManifest",
    "ProbePack",
    "ProbePackError",
    "Provenance",
    "SaeSpec",
    "WatchedLatent",
    "add_directions",
    "load_pack",
    "rename_pack",
    "write_calibration",
    "write_pack",
]
