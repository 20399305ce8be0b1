"""A check answer as Trainer log values: names trackers accept, a bounded set of series."""

from __future__ import annotations

from typing import Any

from monitor.trainer.trainer_logs import answer_log_values


def signal(hook: str, feature: str, zscore: float) -> dict[str, Any]:
    return {"hook_point": hook, "feature": feature, "value": 0.0, "zscore": zscore, "cusum": 0.0}


def alert(state: str, severity: str) -> dict[str, Any]:
    return {"state": state, "severity": severity}


ANSWER = {
    "signals": [
        signal("model.layers.2", "direction:em", 0.5),
        signal("model.layers.1", "latent:7", 3.0),
        signal("model.layers.1", "direction:em", -1.0),
    ],
    "alerts": [
        alert("firing", "warning"),
        alert("pending", "critical"),
        alert("firing", "critical"),
    ],
}


def test_values_of_one_answer() -> None:
    assert answer_log_values(40, ANSWER, max_features=8) == {
        "emwatch/check_step": 40.0,
        "emwatch/max_zscore": 3.0,
        "emwatch/alerts_firing": 2.0,
        "emwatch/alerts_pending": 1.0,
        "emwatch/alert_level": 2.0,  # a critical alert fires
        "emwatch/z/model.layers.1/direction_em": -1.0,
        "emwatch/z/model.layers.1/latent_7": 3.0,
        "emwatch/z/model.layers.2/direction_em": 0.5,
    }


def test_per_feature_series_are_bounded_and_always_the_same_ones() -> None:
    first = answer_log_values(1, ANSWER, max_features=2)
    reordered = {**ANSWER, "signals": list(reversed(ANSWER["signals"]))}
    assert [k for k in first if "/z/" in k] == [
        "emwatch/z/model.layers.1/direction_em",
        "emwatch/z/model.layers.1/latent_7",
    ]
    assert first.keys() == answer_log_values(2, reordered, max_features=2).keys()


def test_nothing_firing_is_level_zero() -> None:
    quiet = answer_log_values(
        0, {"signals": [], "alerts": [alert("pending", "warning")]}, max_features=4
    )
    assert quiet == {
        "emwatch/check_step": 0.0,
        "emwatch/alerts_firing": 0.0,
        "emwatch/alerts_pending": 1.0,
        "emwatch/alert_level": 0.0,
    }
