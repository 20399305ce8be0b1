from __future__ import annotations

import math

import pytest

from monitor.evals.stats import Proportion, wilson_interval


def _wilson_by_definition(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The roots in p of (k/n - p)^2 = z^2 p (1 - p) / n: the interval's defining equation."""
    a = 1 + z * z / n
    b = -(2 * k / n + z * z / n)
    c = (k / n) ** 2
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (5, 10), (10, 10), (37, 200), (3, 1000)])
def test_wilson_matches_its_defining_equation(k: int, n: int) -> None:
    low, high = wilson_interval(k, n)
    expected_low, expected_high = _wilson_by_definition(k, n)
    assert low == pytest.approx(max(0.0, expected_low), abs=1e-12)
    assert high == pytest.approx(min(1.0, expected_high), abs=1e-12)
    assert low <= k / n <= high


def test_wilson_is_symmetric_and_narrows_with_more_trials() -> None:
    low, high = wilson_interval(3, 20)
    mirror_low, mirror_high = wilson_interval(17, 20)
    assert (low, high) == pytest.approx((1 - mirror_high, 1 - mirror_low))
    assert wilson_interval(30, 200)[1] - wilson_interval(30, 200)[0] < high - low


def test_zero_trials_and_invalid_counts() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(-1, 2)


def test_proportion_adds_and_formats() -> None:
    total = Proportion(1, 4) + Proportion(2, 6)
    assert (total.successes, total.trials, total.share) == (3, 10, 0.3)
    assert total.format().startswith("30.0% [")
    assert Proportion(0, 0).share is None
    assert Proportion(0, 0).format() == "n/a"
    assert Proportion(2, 8).to_dict()["ci95_low"] == pytest.approx(wilson_interval(2, 8)[0])
