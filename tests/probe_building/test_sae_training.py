"""SAE training through sae-lens, saved with its own writer and read back by both sides."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sae_lens import SAE

from monitor.core.sae import load_sae_folder
from monitor.probe_building.latents import rank_by_rise
from monitor.probe_building.sae_training import (
    SaeTrainingConfig,
    encode_tokens,
    evaluate_sae,
    load_sae,
    train_sae,
)

D_MODEL = 16


def _tokens(n: int, seed: int) -> torch.Tensor:
    """Sparse combinations of 24 fixed features: an SAE can explain them well."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(24, D_MODEL, generator=torch.Generator().manual_seed(0))
    codes = torch.relu(torch.randn(n, 24, generator=generator) - 1.0)  # [n, 24], sparse
    return codes @ features + 0.01 * torch.randn(n, D_MODEL, generator=generator)


@pytest.mark.parametrize("architecture", ["topk", "batchtopk", "standard", "jumprelu"])
def test_train_save_load_round_trip(architecture: str, tmp_path: Path) -> None:
    config = SaeTrainingConfig(
        architecture=architecture, expansion=4, k=6, steps=300, batch_size=256, learning_rate=3e-3
    )
    folder = train_sae(_tokens(8192, seed=1), config, tmp_path / "sae", "model.layers.2", "m")
    reloaded = SAE.load_from_disk(folder)
    assert reloaded.cfg.metadata.hook_name == "model.layers.2"
    held_out = _tokens(2048, seed=2)
    quality = evaluate_sae(load_sae(folder), held_out)
    assert quality.n_tokens == 2048 and 0 < quality.l0 < 4 * D_MODEL
    if architecture in ("topk", "batchtopk"):
        assert quality.fraction_variance_explained > 0.8
        assert quality.l0 <= 6 * 1.5
    # emwatch's own reader scores the saved SAE exactly as sae-lens does
    watched = (0, 5, 17)
    expected = encode_tokens(reloaded, held_out[:64])[:, list(watched)]
    torch.testing.assert_close(
        load_sae_folder(folder, watched).encode(held_out[:64]), expected, atol=1e-5, rtol=1e-5
    )


def test_ranking_finds_a_planted_latent(tmp_path: Path) -> None:
    """Fine-tuned activations move along latent 11's decoder row: it must rank first."""
    folder = train_sae(
        _tokens(8192, seed=1),
        SaeTrainingConfig(expansion=4, k=6, steps=300, batch_size=256, learning_rate=3e-3),
        tmp_path / "sae",
        "h",
        "m",
    )
    sae = load_sae(folder)
    base_tokens = _tokens(1024, seed=3)
    live = (encode_tokens(sae, base_tokens) > 0).float().mean(dim=0)  # [d_sae] firing rate
    planted = int(torch.argmax(live))  # a latent the SAE really uses
    push = sae.W_dec[planted].detach() / sae.W_dec[planted].detach().norm()
    tuned_tokens = base_tokens + 3.0 * push
    ranking = rank_by_rise(encode_tokens(sae, base_tokens), encode_tokens(sae, tuned_tokens))
    assert ranking[0].index == planted
    assert ranking[0].rise > 0 and ranking[0].rise > 2 * ranking[1].rise
