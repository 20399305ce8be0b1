"""Healthy drift: its basis, its removal from a direction, held-out shifts, and the pack."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from monitor.probe_building.drift import (
    DRIFT_REMOVED_METHOD,
    add_drift_removed_directions,
    canary_drift,
    drift_basis,
    held_out_shifts,
    remove_drift,
)
from tests.factories import D_MODEL, make_pack

E = torch.eye(4)  # e0..e3, d_model 4


def moving(*steps: torch.Tensor) -> torch.Tensor:
    """A two-prompt trajectory [n_checks, 2, d] whose canary mean follows ``steps`` from 0."""
    means = torch.stack([torch.zeros(4), *steps])  # [n_checks, d]
    spread = torch.tensor([1.0, -1.0])[None, :, None] * E[3]  # prompts differ, mean does not
    return means[:, None, :] + spread  # [n_checks, 2, d]


def test_canary_drift_is_the_mean_activation_minus_the_first_check() -> None:
    trajectory = moving(2 * E[0], 3 * E[0] + E[1])
    assert torch.allclose(canary_drift(trajectory), torch.stack([2 * E[0], 3 * E[0] + E[1]]))


def test_basis_keeps_the_fewest_directions_that_carry_the_energy() -> None:
    runs = [moving(3 * E[0], 6 * E[0] + E[1]), moving(4 * E[0] - E[1])]
    # energy along e0: 9 + 36 + 16 = 61, along e1: 1 + 1 = 2 (up to the rotation SVD picks)
    assert drift_basis(runs, energy=0.9).shape == (1, 4)
    two = drift_basis(runs, energy=0.999)
    assert two.shape == (2, 4)
    assert torch.allclose(two @ two.T, torch.eye(2), atol=1e-6)  # orthonormal rows
    assert torch.allclose(two[:, 2:], torch.zeros(2, 2), atol=1e-6)  # spans e0, e1 only


def test_removing_drift_keeps_only_what_healthy_training_leaves_alone() -> None:
    direction = 5 * (E[0] + E[2])  # half drift, half untouched; its norm does not matter
    removed = remove_drift(direction, E[0:1])
    assert torch.allclose(removed, E[2] / 2**0.5)
    assert remove_drift(direction, E[0:1]) @ E[0] == pytest.approx(0.0)


def test_held_out_shifts_score_each_run_against_the_others_fit() -> None:
    along_e0 = [moving(E[0], 2 * E[0]), moving(3 * E[0])]
    along_e1 = moving(E[1], 2 * E[1])  # a healthy drift the other runs never showed
    shifts = held_out_shifts(E[0] + E[1] + E[2], [*along_e0, along_e1], energy=0.999)
    # Each e0 run is held out against a fit on e0 and e1 drift: only e2 is left, no rise.
    assert torch.allclose(shifts[0], torch.zeros(2), atol=1e-6)
    assert torch.allclose(shifts[1], torch.zeros(1), atol=1e-6)
    # The e1 run is held out against a fit on e0 alone: (e1 + e2) / sqrt 2 is left.
    assert torch.allclose(shifts[2], torch.tensor([1.0, 2.0]) / 2**0.5, atol=1e-6)
    with pytest.raises(ValueError, match="at least two"):
        held_out_shifts(E[0], along_e0[:1])


def test_grouped_runs_are_held_out_against_the_other_groups_only() -> None:
    """Two runs of one dataset drift along e0, a third dataset along e1: grouped, an e0 run is
    measured against the e1 fit alone, so its own dataset's drift shows as a rise."""
    along_e0 = [moving(E[0], 2 * E[0]), moving(3 * E[0])]
    along_e1 = moving(E[1], 2 * E[1])
    runs = [*along_e0, along_e1]
    grouped = held_out_shifts(E[0] + E[1] + E[2], runs, 0.999, ["code", "code", "chat"])
    # e0 runs against the e1 fit: (e0 + e2) / sqrt 2 is left, and they moved along e0.
    assert torch.allclose(grouped[0], torch.tensor([1.0, 2.0]) / 2**0.5, atol=1e-6)
    assert torch.allclose(grouped[1], torch.tensor([3.0]) / 2**0.5, atol=1e-6)
    assert torch.allclose(grouped[2], torch.tensor([1.0, 2.0]) / 2**0.5, atol=1e-6)
    with pytest.raises(ValueError, match="two groups"):
        held_out_shifts(E[0], along_e0, groups=["code", "code"])


def test_drift_removed_copies_join_the_pack_and_replace_earlier_ones(tmp_path: Path) -> None:
    pack = make_pack(tmp_path / "pack", hooks=("model.layers.1",))
    hook = pack.hook_points[0]
    raw = pack.hooks[hook].directions[0]
    drift = torch.zeros(D_MODEL)
    drift[0] = 1.0
    runs = [
        torch.stack([torch.zeros(3, D_MODEL), torch.ones(3, 1) * drift * k]) for k in (1, 2, 3)
    ]  # each [2 checks, 3 prompts, d_model], drifting along e0 only
    for _ in range(2):  # a second calibration replaces the copy instead of adding another
        updated = add_drift_removed_directions(pack.directory, {hook: runs}, ["a", "b", "c"])
    directions = updated.hooks[hook].directions
    assert [d.name for d in directions] == ["em", "em-drift-removed"]
    copy = directions[1]
    assert copy.spec.method == DRIFT_REMOVED_METHOD
    assert copy.spec.details["source"] == "em"
    assert copy.spec.details["drift_rank"] == 1
    assert copy.unit @ drift == pytest.approx(0.0, abs=1e-6)
    expected = raw.unit.clone()
    expected[0] = 0.0
    assert torch.allclose(copy.unit, expected / expected.norm(), atol=1e-6)
    assert torch.equal(directions[0].unit, raw.unit)  # the source direction is untouched
    assert updated.hooks[hook].latents is not None  # the SAE is still there
