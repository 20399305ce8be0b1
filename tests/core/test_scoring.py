from __future__ import annotations

from pathlib import Path

import pytest
import torch

from monitor.core.scoring import ScoringError, feature_signs, score_activations
from tests.factories import D_MODEL, HOOKS, direction_vector, make_check, make_pack


def test_direction_projection_matches_hand_computation(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "pack", with_sae=False)
    check = make_check()
    scores = score_activations(pack, check.activations)
    for i, hook in enumerate(HOOKS):
        v = direction_vector(i)
        expected = [
            float(sum(a * b for a, b in zip(row.tolist(), (v / v.norm()).tolist(), strict=True)))
            for row in check.activations[hook]
        ]
        torch.testing.assert_close(
            scores[(hook, "direction:em")], torch.tensor(expected), atol=1e-5, rtol=1e-5
        )


def test_planted_latent_reads_the_direction(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "pack")
    v = direction_vector(0)
    base = make_check()
    shifted = make_check(shift={HOOKS[0]: 5.0 * v / v.norm()})
    before = score_activations(pack, base.activations)[(HOOKS[0], "latent:5")]
    after = score_activations(pack, shifted.activations)[(HOOKS[0], "latent:5")]
    assert float(after.mean()) > float(before.mean()) + 2.0
    assert set(score_activations(pack, base.activations)) == set(feature_signs(pack))
    assert feature_signs(pack)[(HOOKS[0], "latent:9")] == -1


def test_wrong_width_and_hooks_are_named(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "pack")
    with pytest.raises(ScoringError, match=f"d_model {D_MODEL + 4} .* d_model {D_MODEL}"):
        score_activations(pack, make_check(d_model=D_MODEL + 4).activations)
    with pytest.raises(
        ScoringError,
        match=r"missing \['model.layers.2'\].*unexpected "
        r"\['model.layers.7'\]",
    ):
        score_activations(pack, make_check(hooks=(HOOKS[0], "model.layers.7")).activations)
