from __future__ import annotations

import math

import pytest
import torch

from monitor.probe_building.activations import AnswerActivations
from monitor.probe_building.directions import (
    LayerSeparation,
    auroc,
    choose_hook,
    cohens_d,
    mean_difference,
    rank_layers,
    separation,
    split_indices,
)


def test_mean_difference_is_token_weighted() -> None:
    """Hand-computed: answers of 1 and 3 tokens; the longer answer weighs three times more."""
    misaligned = AnswerActivations(
        {"h": torch.tensor([[2.0, 0.0], [6.0, 3.0]])}, torch.tensor([1.0, 3.0])
    )  # token means: (2,0) and (2,1)
    aligned = AnswerActivations({"h": torch.tensor([[0.0, 4.0]])}, torch.tensor([4.0]))
    # misaligned token mean = (2+6, 0+3) / 4 = (2, 0.75); aligned = (0, 1)
    torch.testing.assert_close(
        mean_difference(misaligned, aligned, "h"), torch.tensor([2.0, -0.25])
    )
    # a per-answer mean would give ((2+2)/2, (0+1)/2) = (2, 0.5) instead
    torch.testing.assert_close(misaligned.means("h"), torch.tensor([[2.0, 0.0], [2.0, 1.0]]))


def test_auroc_hand_computed_with_ties() -> None:
    assert auroc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert auroc([1.0, 2.0], [3.0, 4.0]) == 0.0
    # pairs: (2,1) win, (2,2) tie, (2,3) loss, (5,*) 3 wins -> (1 + 0.5 + 3) / 6
    assert auroc([2.0, 5.0], [1.0, 2.0, 3.0]) == pytest.approx(4.5 / 6)
    with pytest.raises(ValueError):
        auroc([], [1.0])


def test_cohens_d_hand_computed() -> None:
    # means 2 and 0, both variances 1 (n-1): d = 2
    assert cohens_d([1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]) == pytest.approx(2.0)
    assert cohens_d([1.0, 1.0], [1.0, 1.0]) == 0.0  # no spread, no difference
    assert cohens_d([1.0, 1.0], [0.0, 0.0]) == math.inf  # no spread, a difference


def test_separation_and_layer_ranking() -> None:
    direction = torch.tensor([1.0, 0.0])
    positive = torch.tensor([[2.0, 5.0], [3.0, -5.0]])
    negative = torch.tensor([[0.0, 9.0], [1.0, -9.0]])
    good = separation(direction, positive, negative, "model.layers.3")
    assert (good.auroc, good.norm) == (1.0, 1.0)
    bad = separation(torch.tensor([0.0, 1.0]), positive, negative, "model.layers.1")
    assert bad.auroc == 0.5
    assert [s.hook_point for s in rank_layers([bad, good])] == ["model.layers.3", "model.layers.1"]


def test_near_ties_go_to_the_largest_effect_size() -> None:
    def layers(*pairs: tuple[float, float]) -> list[LayerSeparation]:
        return [LayerSeparation(f"l.{i}", a, d, 1.0, 1.0, 2, 2) for i, (a, d) in enumerate(pairs)]

    # AUROC saturates: within 0.01 of the best, the larger effect size wins
    assert choose_hook(layers((0.999, 5.1), (0.994, 3.0), (0.996, 4.4))) == "l.0"
    assert choose_hook(layers((0.995, 4.1), (0.999, 3.0), (0.996, 4.4))) == "l.2"
    # a clear AUROC winner is kept whatever its effect size
    assert choose_hook(layers((0.90, 9.0), (0.99, 2.0))) == "l.1"


def test_split_is_seeded_disjoint_and_complete() -> None:
    fit, held = split_indices(10, 0.3, seed=1)
    assert len(held) == 3 and sorted(fit + held) == list(range(10))
    assert split_indices(10, 0.3, seed=1) == (fit, held)
    assert split_indices(10, 0.3, seed=2) != (fit, held)
