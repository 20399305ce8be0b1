"""Units, the screen score and the drop rules, on values whose answers are known."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from monitor.core.pack import (
    BuildUnit,
    FeatureCalibration,
    HookPointSpec,
    ProbePack,
    write_calibration,
    write_pack,
)
from monitor.core.pack.pack import direction_spec, new_provenance
from monitor.core.sample_units import ShiftScore, default_features, largest_shift, sample_units
from monitor.core.units import BUILD_UNIT_HEALTHY_RISE, CALIBRATED_DETECTOR, WARNING_MULTIPLE
from monitor.screening import ScreenError
from monitor.screening.selection import (
    default_threshold,
    drop_above,
    drop_top,
    parse_features,
    ranking,
)
from tests.factories import HOOKS, make_pack


@pytest.fixture
def pack(tmp_path: Path) -> ProbePack:
    return make_pack(tmp_path / "pack")  # direction "em" at both hooks; latents 5 and 9 (sign -1)


def test_shift_from_the_median_over_the_spread_without_pack_units(pack: ProbePack) -> None:
    em = (HOOKS[0], "direction:em")
    anti = (HOOKS[0], "latent:9")
    raw = {key: torch.zeros(5) for key in pack_keys(pack)}
    raw[em] = torch.tensor([1.0, 2.0, 3.0, 4.0, 10.0])
    raw[anti] = torch.tensor([5.0, 5.0, 5.0, 3.0, 1.0])
    units = sample_units(pack, raw, "test")
    assert units.features[em].reference == 3.0
    assert units.features[em].unit == pytest.approx(float(raw[em].std()))
    assert str(units.features[em].kind) == "baseline spread"
    z = units.in_units(raw)
    torch.testing.assert_close(z[em], (raw[em] - 3.0) / raw[em].std())
    # A watched latent whose fall is misaligned: a fall from its median counts upwards.
    assert units.features[anti].sign == -1
    assert float(z[anti][4]) > 0 > -float(z[anti][4])
    # A constant feature gets the detector's floor, never a division by zero.
    assert units.features[(HOOKS[1], "direction:em")].unit == pytest.approx(1e-3)


def _calibrated(pack: ProbePack) -> ProbePack:
    calibration = {
        hook: {feature: FeatureCalibration(scale=0.5) for feature in probe.features}
        for hook, probe in pack.hooks.items()
    }
    return write_calibration(pack.directory, calibration, CALIBRATED_DETECTOR)


def _build_unit_pack(directory: Path) -> ProbePack:
    vector = torch.ones(4)
    spec = HookPointSpec(
        directions=[direction_spec("em", vector, "manual")],
        build_units={
            "direction:em": BuildUnit(scale=2.0, method="test", n_misaligned=1, n_aligned=1)
        },
    )
    return write_pack(
        directory,
        name="build-units",
        provenance=new_provenance("m", 4, {}),
        hook_points={"model.layers.0": spec},
        directions={("model.layers.0", "em"): vector},
    )


def test_calibrated_units_are_the_packs(pack: ProbePack) -> None:
    em = (HOOKS[0], "direction:em")
    units = sample_units(_calibrated(pack), {em: torch.tensor([0.0, 1.0, 2.0])}, "test")
    assert units.features[em].unit == 0.5 and str(units.features[em].kind) == "calibrated"
    torch.testing.assert_close(units.in_units({em: torch.tensor([2.0])})[em], torch.tensor([2.0]))


def test_default_threshold_is_where_a_check_would_warn(pack: ProbePack, tmp_path: Path) -> None:
    assert default_threshold(pack) == (
        3.0,
        "the warning threshold that goes with baseline spread units",
    )
    build = _build_unit_pack(tmp_path / "build")
    threshold, source = default_threshold(build)
    assert threshold == pytest.approx(WARNING_MULTIPLE * BUILD_UNIT_HEALTHY_RISE)
    assert "build units" in source
    assert default_threshold(_calibrated(pack)) == (
        WARNING_MULTIPLE,
        "the pack's own warning threshold (persistence rule)",
    )


def test_screen_features_by_default_and_by_name(pack: ProbePack) -> None:
    em = [(HOOKS[0], "direction:em"), (HOOKS[1], "direction:em")]
    assert default_features(pack) == em
    assert parse_features(pack, ["direction:em"]) == em
    assert parse_features(pack, [f"{HOOKS[0]}:latent:5", "direction:em"]) == [
        (HOOKS[0], "latent:5"),
        *em,
    ]
    with pytest.raises(ScreenError, match="no feature 'latent:77'"):
        parse_features(pack, ["latent:77"])


def test_the_score_is_the_largest_screen_feature_and_names_it() -> None:
    a, b = ("h", "direction:a"), ("h", "direction:b")
    scored = largest_shift(
        {a: torch.tensor([1.0, 5.0, -2.0]), b: torch.tensor([3.0, 0.0, -1.0])}, [a, b]
    )
    torch.testing.assert_close(scored.score, torch.tensor([3.0, 5.0, -1.0]))
    assert scored.feature == [b, a, b]


def _scores(values: list[float]) -> ShiftScore:
    return ShiftScore(torch.tensor(values), [("h", "direction:a")] * len(values))


def test_ranking_and_drop_rules() -> None:
    scores = _scores([0.5, 4.0, 2.0, 4.0, -1.0, 1.6])
    assert ranking(scores.score) == [1, 3, 2, 5, 0, 4]  # ties in file order
    above = drop_above(scores, 1.5)
    assert [d.index for d in above] == [1, 3, 2, 5]
    assert above[0].reason == "h direction:a at +4.00 units is above the threshold 1.5 units"
    top = drop_top(scores, 0.5)
    assert [d.index for d in top] == [1, 3, 2]
    assert top[2].reason.startswith("rank 3 of 6, in the top 50%: h direction:a at +2.00")
    assert [d.index for d in drop_top(scores, 0.01)] == []  # under half a sample
    with pytest.raises(ScreenError, match="between 0 and 1"):
        drop_top(scores, 1.0)


def pack_keys(pack: ProbePack) -> list[tuple[str, str]]:
    return [(hook, feature) for hook, probe in pack.hooks.items() for feature in probe.features]
