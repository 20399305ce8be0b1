"""Which z unit a feature uses: calibrated beats the build's, which beats the baseline spread."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from monitor.core.detect import DetectorConfig
from monitor.core.pack import (
    MANIFEST_NAME,
    BuildUnit,
    FeatureCalibration,
    ProbePackError,
    load_pack,
    write_calibration,
)
from monitor.core.units import UnitKind, feature_units, pack_unit_kind, unit_kinds
from tests.factories import HOOKS, make_pack

BUILD = BuildUnit(scale=2.0, method="test gap", n_misaligned=3, n_aligned=4)


def with_build_units(directory: Path) -> None:
    """Give the first hook point's direction a build unit, straight in the manifest."""
    manifest = json.loads((directory / MANIFEST_NAME).read_text())
    manifest["hook_points"][HOOKS[0]]["build_units"] = {"direction:em": BUILD.model_dump()}
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest))


def test_units_by_preference(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "pack")
    assert feature_units(pack) == {}
    assert set(unit_kinds(pack).values()) == {UnitKind.BASELINE_SPREAD}
    assert pack_unit_kind(pack) is UnitKind.BASELINE_SPREAD

    with_build_units(pack.directory)
    built = load_pack(pack.directory, release_loader=None)
    assert feature_units(built) == {(HOOKS[0], "direction:em"): 2.0}
    assert unit_kinds(built)[(HOOKS[0], "direction:em")] is UnitKind.BUILD
    assert pack_unit_kind(built) is UnitKind.BASELINE_SPREAD  # other features have none

    calibrated = write_calibration(
        pack.directory,
        {HOOKS[0]: {"direction:em": FeatureCalibration(scale=0.5)}},
        DetectorConfig(),
    )
    assert feature_units(calibrated)[(HOOKS[0], "direction:em")] == 0.5  # calibration wins
    assert unit_kinds(calibrated)[(HOOKS[0], "direction:em")] is UnitKind.CALIBRATED
    # Calibration leaves the build units in place, for a later look.
    assert calibrated.manifest.hook_points[HOOKS[0]].build_units == {"direction:em": BUILD}


def test_every_feature_with_a_unit_of_one_kind_names_that_kind(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "pack", with_sae=False)
    manifest = json.loads((pack.directory / MANIFEST_NAME).read_text())
    for hook in HOOKS:
        manifest["hook_points"][hook]["build_units"] = {"direction:em": BUILD.model_dump()}
    (pack.directory / MANIFEST_NAME).write_text(json.dumps(manifest))
    assert pack_unit_kind(load_pack(pack.directory)) is UnitKind.BUILD


def test_a_unit_for_a_feature_the_pack_lacks_is_refused(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "pack")
    manifest = json.loads((pack.directory / MANIFEST_NAME).read_text())
    manifest["hook_points"][HOOKS[0]]["build_units"] = {"direction:nope": BUILD.model_dump()}
    (pack.directory / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(ProbePackError, match="build_units names unknown features"):
        load_pack(pack.directory)


def test_a_schema_1_pack_keeps_its_content_hash(tmp_path: Path) -> None:
    """A service keeps a registered name's hash for good: the new optional field must not
    change the hash of a pack written before it existed."""
    pack = make_pack(tmp_path / "pack")
    raw = json.loads((pack.directory / MANIFEST_NAME).read_text())
    raw["schema_version"] = 1  # as written by emwatch before build units
    assert all("build_units" not in spec for spec in raw["hook_points"].values())
    (pack.directory / MANIFEST_NAME).write_text(json.dumps(raw))
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    assert load_pack(pack.directory).content_hash == hashlib.sha256(canonical.encode()).hexdigest()
