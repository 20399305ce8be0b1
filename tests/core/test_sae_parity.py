"""Watched-latent encoders must equal sae-lens' own ``SAE.encode`` to 1e-5.

Every SAE here is built or trained by sae-lens and saved with its own writer, then read back
by emwatch's reader; nothing is hand-constructed on our side.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from sae_lens import (
    SAE,
    BatchTopKTrainingSAE,
    BatchTopKTrainingSAEConfig,
    GatedSAE,
    GatedSAEConfig,
    JumpReLUSAE,
    JumpReLUSAEConfig,
    SAETrainer,
    StandardSAE,
    StandardSAEConfig,
    StandardTrainingSAE,
    StandardTrainingSAEConfig,
    TopKSAE,
    TopKSAEConfig,
    TopKTrainingSAE,
    TopKTrainingSAEConfig,
)
from sae_lens.config import SAETrainerConfig

from monitor.core.sae import SaeFormatError, load_sae_folder

D_IN, D_SAE = 32, 128
WATCHED = (3, 17, 64, 127)


def _randomise(sae: SAE) -> SAE:
    """Non-zero biases and thresholds, so gating and masks are exercised, not bypassed."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, parameter in sae.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator) * 0.3
            if name in ("threshold",):
                noise = noise.abs()
            parameter.copy_(parameter + noise)
    return sae


def _inputs() -> torch.Tensor:
    return torch.randn(64, D_IN, generator=torch.Generator().manual_seed(2)) * 2.0  # [n, d_in]


def _assert_parity(sae: SAE, folder: Path, watched: tuple[int, ...] = WATCHED) -> None:
    encoder = load_sae_folder(folder, watched)
    reloaded = SAE.load_from_disk(folder)
    x = _inputs()
    with torch.no_grad():
        expected = reloaded.encode(x)[:, list(watched)]
    actual = encoder.encode(x)
    assert (expected != 0).any(), "test inputs must activate some watched latents"
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


INFERENCE_SAES = {
    "standard": lambda: StandardSAE(StandardSAEConfig(d_in=D_IN, d_sae=D_SAE)),
    "standard-no-bdec": lambda: StandardSAE(
        StandardSAEConfig(d_in=D_IN, d_sae=D_SAE, apply_b_dec_to_input=False)
    ),
    "standard-layer-norm": lambda: StandardSAE(
        StandardSAEConfig(d_in=D_IN, d_sae=D_SAE, normalize_activations="layer_norm")
    ),
    "jumprelu": lambda: JumpReLUSAE(JumpReLUSAEConfig(d_in=D_IN, d_sae=D_SAE)),
    "jumprelu-norm-rescale": lambda: JumpReLUSAE(
        JumpReLUSAEConfig(d_in=D_IN, d_sae=D_SAE, normalize_activations="constant_norm_rescale")
    ),
    "gated": lambda: GatedSAE(GatedSAEConfig(d_in=D_IN, d_sae=D_SAE)),
    "topk": lambda: TopKSAE(TopKSAEConfig(d_in=D_IN, d_sae=D_SAE, k=8)),
    "topk-rescaled": lambda: TopKSAE(
        TopKSAEConfig(d_in=D_IN, d_sae=D_SAE, k=8, rescale_acts_by_decoder_norm=True)
    ),
}


@pytest.mark.parametrize("kind", sorted(INFERENCE_SAES))
def test_built_sae_parity(kind: str, tmp_path: Path) -> None:
    sae = _randomise(INFERENCE_SAES[kind]())
    sae.save_model(tmp_path)
    _assert_parity(sae, tmp_path)


def _activation_batches() -> Iterator[torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    basis = torch.randn(8, D_IN, generator=generator)
    while True:
        codes = torch.relu(torch.randn(256, 8, generator=generator))
        yield codes @ basis + 0.05 * torch.randn(256, D_IN, generator=generator)  # [256, d_in]


TRAINING_SAES = {
    "standard": lambda: StandardTrainingSAE(
        StandardTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, l1_coefficient=1e-3)
    ),
    "topk": lambda: TopKTrainingSAE(TopKTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, k=8)),
    "batchtopk": lambda: BatchTopKTrainingSAE(
        BatchTopKTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, k=8)
    ),
}


@pytest.mark.parametrize("kind", sorted(TRAINING_SAES))
def test_trained_sae_parity(kind: str, tmp_path: Path) -> None:
    torch.manual_seed(0)  # sae-lens initialises from the global generator
    trainer_cfg = SAETrainerConfig(
        total_training_samples=256 * 60,
        train_batch_size_samples=256,
        lr=3e-3,
        lr_end=3e-3,
        n_batches_for_norm_estimate=4,
    )
    sae = SAETrainer(
        cfg=trainer_cfg, sae=TRAINING_SAES[kind](), data_provider=_activation_batches()
    ).fit()
    sae.save_inference_model(tmp_path)  # BatchTopK is written in its JumpReLU inference form
    # Training leaves some latents dead; watch the two that fire most on the test inputs beside
    # two fixed ones, so the comparison covers live latents whatever the training did.
    with torch.no_grad():
        firing = (sae.encode(_inputs()) > 0).sum(dim=0)  # [d_sae]
    live = tuple(int(i) for i in firing.topk(2).indices)
    _assert_parity(sae, tmp_path, tuple(sorted({*live, WATCHED[0], WATCHED[-1]})))


def test_batchtopk_training_format_is_refused_with_a_fix(tmp_path: Path) -> None:
    sae = BatchTopKTrainingSAE(BatchTopKTrainingSAEConfig(d_in=D_IN, d_sae=D_SAE, k=8))
    sae.save_model(tmp_path)
    with pytest.raises(SaeFormatError, match="save_inference_model"):
        load_sae_folder(tmp_path, WATCHED)


def test_unknown_architecture_is_named(tmp_path: Path) -> None:
    sae = StandardSAE(StandardSAEConfig(d_in=D_IN, d_sae=D_SAE))
    sae.save_model(tmp_path)
    cfg = (tmp_path / "cfg.json").read_text().replace('"standard"', '"matryoshka_dream"')
    (tmp_path / "cfg.json").write_text(cfg)
    with pytest.raises(SaeFormatError, match="unknown SAE architecture 'matryoshka_dream'"):
        load_sae_folder(tmp_path, WATCHED)


def test_watched_index_out_of_range(tmp_path: Path) -> None:
    StandardSAE(StandardSAEConfig(d_in=D_IN, d_sae=D_SAE)).save_model(tmp_path)
    with pytest.raises(SaeFormatError, match=r"\[128\] are outside the SAE's d_sae=128"):
        load_sae_folder(tmp_path, (1, 128))
