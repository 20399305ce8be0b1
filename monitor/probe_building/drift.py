"""Healthy fine-tuning drift, and misalignment directions with that drift removed.

Every fine-tune moves a model's activations, misaligned or not. On the organism a healthy
fine-tune (secure code, good medical advice) moves the canaries' mean activation partly along
the misalignment direction, by about as much as an emergent-misalignment run moves it when
behaviour starts to turn, so a threshold that keeps healthy runs quiet fires late. That
healthy drift is low-rank and shared across healthy datasets: measured on healthy runs, the
few directions that carry most of it can be projected out of each misalignment direction.
What stays is the part of the direction that healthy training leaves alone.

A drift-removed direction scores its own calibration runs unfairly well (it was fitted to
them), so ``held_out_shifts`` measures each healthy run against the direction fitted on the
others; calibration takes its z-score unit from those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from monitor.core.pack import DirectionSpec, ProbePack, add_directions, load_pack
from monitor.core.pack.pack import direction_spec

DRIFT_ENERGY = 0.9  # keep the fewest drift directions that carry 90% of the healthy drift
DRIFT_REMOVED_SUFFIX = "-drift-removed"
DRIFT_REMOVED_METHOD = "drift_removed"


def canary_drift(trajectory: torch.Tensor) -> torch.Tensor:
    """How far the canaries' mean activation has moved since the first check.

    ``trajectory`` [n_checks, n_prompts, d_model] -> [n_checks - 1, d_model].
    """
    mean = trajectory.float().mean(dim=1)  # [n_checks, d_model]
    return mean[1:] - mean[0]


def drift_basis(trajectories: Sequence[torch.Tensor], energy: float = DRIFT_ENERGY) -> torch.Tensor:
    """Orthonormal rows [k, d_model] spanning ``energy`` of the healthy runs' drift."""
    if not trajectories:
        raise ValueError("the drift basis needs at least one healthy run")
    drifts = torch.cat([canary_drift(t) for t in trajectories])  # [sum(n_checks - 1), d_model]
    _, singular, right = torch.linalg.svd(drifts, full_matrices=False)  # right: [r, d_model]
    basis: torch.Tensor = right
    captured = (singular**2).cumsum(0) / (singular**2).sum()  # [min(n, d_model)]
    rank = int((captured < energy).sum()) + 1
    return basis[:rank]  # [k, d_model]


def remove_drift(direction: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``direction`` [d_model] minus its component in the span of ``basis`` [k, d_model]."""
    unit = direction.float() / direction.float().norm()
    removed: torch.Tensor = unit - basis.T @ (basis @ unit)  # [d_model]
    return removed


def held_out_shifts(
    direction: torch.Tensor,
    trajectories: Sequence[torch.Tensor],
    energy: float = DRIFT_ENERGY,
    groups: Sequence[str] | None = None,
) -> list[torch.Tensor]:
    """Each run's shift [n_checks - 1] along ``direction`` with the drift removed as measured
    on the *other* runs, so a run never calibrates against its own fit.

    ``groups`` names each run's dataset: a run is then measured against the drift fitted on
    the other datasets only, so the shift says what a healthy fine-tune on data the drift never
    saw does (the field's case). Default: every run is its own group."""
    names = list(groups) if groups is not None else [str(i) for i in range(len(trajectories))]
    if len(names) != len(trajectories):
        raise ValueError(f"{len(names)} group names for {len(trajectories)} runs")
    if len(set(names)) < 2:
        raise ValueError("held-out shifts need healthy runs of at least two groups")
    shifts = []
    for trajectory, group in zip(trajectories, names, strict=True):
        others = [t for t, g in zip(trajectories, names, strict=True) if g != group]
        cleaned = remove_drift(direction, drift_basis(others, energy))
        shifts.append(canary_drift(trajectory) @ (cleaned / cleaned.norm()))
    return shifts


def add_drift_removed_directions(
    pack_dir: str | Path,
    trajectories: Mapping[str, Sequence[torch.Tensor]],
    runs: Sequence[str],
    energy: float = DRIFT_ENERGY,
) -> ProbePack:
    """Add to the pack, per hook point, a drift-removed copy of each of its directions.

    ``trajectories``: per hook point, each healthy run's [n_checks, n_prompts, d_model]
    canary activations; ``runs`` names those runs for the provenance. Copies from an earlier
    calibration are replaced, never stacked.
    """
    pack = load_pack(pack_dir, release_loader=None)
    new: dict[str, list[tuple[DirectionSpec, torch.Tensor]]] = {}
    for hook, probe in pack.hooks.items():
        basis = drift_basis(trajectories[hook], energy)
        new[hook] = []
        for direction in probe.directions:
            if direction.spec.method == DRIFT_REMOVED_METHOD:
                continue
            vector = remove_drift(direction.unit, basis)
            spec = direction_spec(
                direction.name + DRIFT_REMOVED_SUFFIX,
                vector,
                DRIFT_REMOVED_METHOD,
                source=direction.name,
                drift_rank=int(basis.shape[0]),
                drift_energy=energy,
                kept_norm=float(vector.norm()),
                healthy_runs=list(runs),
            )
            new[hook].append((spec, vector))
    return add_directions(pack_dir, new)
