"""Builders for real probe packs and checks used across the test suite."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from sae_lens import StandardSAE, StandardSAEConfig

from monitor.core.pack import HookPointSpec, ProbePack, SaeSpec, WatchedLatent, write_pack
from monitor.core.pack.pack import direction_spec, new_provenance
from monitor.core.wire import Check

D_MODEL = 16
HOOKS = ("model.layers.1", "model.layers.2")
N_PROMPTS = 6


def direction_vector(seed: int, d_model: int = D_MODEL) -> torch.Tensor:
    return torch.randn(d_model, generator=torch.Generator().manual_seed(seed))  # [d_model]


def make_pack(
    directory: Path,
    *,
    name: str = "test-pack",
    hooks: Sequence[str] = HOOKS,
    d_model: int = D_MODEL,
    with_sae: bool = True,
    directions: dict[str, torch.Tensor] | None = None,
) -> ProbePack:
    """A pack with one direction per hook (or the given ones) and a planted-latent SAE."""
    vectors = {
        (hook, "em"): (directions or {}).get(hook, direction_vector(i, d_model))
        for i, hook in enumerate(hooks)
    }
    sae_folders: dict[str, Path] = {}
    specs: dict[str, HookPointSpec] = {}
    for i, hook in enumerate(hooks):
        sae = None
        if with_sae and i == 0:
            folder = directory.parent / f"{directory.name}-sae-src"
            planted_sae(vectors[(hook, "em")], d_model).save_model(folder)
            sae_folders[f"sae/{hook}"] = folder
            sae = SaeSpec(
                source="local",
                path=f"sae/{hook}",
                architecture="standard",
                d_sae=32,
                watched_latents=[
                    WatchedLatent(index=5, label="planted persona"),
                    WatchedLatent(index=9, label="anti", sign=-1),
                ],
            )
        specs[hook] = HookPointSpec(
            directions=[direction_spec("em", vectors[(hook, "em")], "manual")], sae=sae
        )
    return write_pack(
        directory,
        name=name,
        provenance=new_provenance("tiny-test-model", d_model, {"method": "test"}),
        hook_points=specs,
        directions=vectors,
        sae_folders=sae_folders,
    )


def planted_sae(direction: torch.Tensor, d_model: int = D_MODEL) -> StandardSAE:
    """A sae-lens SAE whose latent 5 reads the direction (a planted persona latent)."""
    sae = StandardSAE(StandardSAEConfig(d_in=d_model, d_sae=32))
    with torch.no_grad():
        sae.W_enc.normal_(0, 0.1, generator=torch.Generator().manual_seed(7))
        sae.W_enc[:, 5] = direction / direction.norm()
        sae.b_enc.zero_()
        sae.b_dec.zero_()
    return sae


def make_check(
    run: str = "run-1",
    step: int = 0,
    *,
    hooks: Sequence[str] = HOOKS,
    d_model: int = D_MODEL,
    n_prompts: int = N_PROMPTS,
    seed: int = 0,
    prompt_set_hash: str = "c" * 64,
    shift: dict[str, torch.Tensor] | None = None,
) -> Check:
    """Random activations, plus an optional per-hook shift vector added to every prompt."""
    generator = torch.Generator().manual_seed(seed)
    activations = {}
    for hook in hooks:
        x = torch.randn(n_prompts, d_model, generator=generator)  # [n_prompts, d_model]
        if shift and hook in shift:
            x = x + shift[hook]
        activations[hook] = x
    return Check(run, step, prompt_set_hash, activations)
