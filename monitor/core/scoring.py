"""Activations x probe pack -> per-prompt feature values. Pure: no I/O, float32 throughout.

A *feature* is one thing the pack watches at one hook point: a misalignment direction (the
scalar projection onto its unit vector) or a watched SAE latent (its activation). Features are
keyed by ``(hook_point, feature_id)`` with ids ``direction:NAME`` and ``latent:INDEX``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack

__all__ = ["FeatureKey", "ScoringError", "feature_signs", "score_activations"]


class ScoringError(ValueError):
    """Activations do not fit the probe pack; the message names the mismatch."""


def check_compatible(pack: ProbePack, hook_points: list[str], d_model: int) -> None:
    """Refuse activations captured at other layers or from a model of another width."""
    missing = sorted(set(pack.hook_points) - set(hook_points))
    unexpected = sorted(set(hook_points) - set(pack.hook_points))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if unexpected:
            parts.append(f"unexpected {unexpected}")
        raise ScoringError(
            f"hook points do not match probe pack {pack.name!r} ({'; '.join(parts)}); capture "
            f"exactly {pack.hook_points}"
        )
    if d_model != pack.d_model:
        raise ScoringError(
            f"activations have d_model {d_model} but probe pack {pack.name!r} was built for "
            f"d_model {pack.d_model} ({pack.manifest.provenance.model_id}); use a pack built "
            "for this model"
        )


def score_activations(
    pack: ProbePack, activations: Mapping[str, torch.Tensor]
) -> dict[FeatureKey, torch.Tensor]:
    """Per-prompt values of every feature: ``{(hook, feature): [n_prompts]}``."""
    first = next(iter(activations.values()))
    check_compatible(pack, list(activations), int(first.shape[-1]))
    scores: dict[FeatureKey, torch.Tensor] = {}
    for hook_point, probe in pack.hooks.items():
        x = activations[hook_point].float()  # [n_prompts, d_model]
        for direction in probe.directions:
            scores[(hook_point, direction.feature)] = x @ direction.unit  # [n_prompts]
        if probe.latents is not None:
            latent_acts = probe.latents.encode(x)  # [n_prompts, n_watched]
            for column, latent in enumerate(probe.watched):
                scores[(hook_point, latent.feature)] = latent_acts[:, column]
    return scores


def feature_signs(pack: ProbePack) -> dict[FeatureKey, int]:
    """+1 where a rise means misalignment, -1 where a fall does (directions always rise)."""
    signs: dict[FeatureKey, int] = {}
    for hook_point, probe in pack.hooks.items():
        signs.update({(hook_point, d.feature): 1 for d in probe.directions})
        signs.update({(hook_point, w.feature): w.sign for w in probe.watched})
    return signs
