"""Train an SAE on residual-stream activations with sae-lens, offline, and measure it.

sae-lens does the training (``SAETrainer`` with an in-memory data provider, its own progress
bar) and the saving (``save_inference_model``, which turns BatchTopK into its JumpReLU
inference form). Quality is measured on held-out tokens with the *saved* inference SAE, since
that is what scoring will use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

Architecture = Literal["topk", "batchtopk", "standard", "jumprelu"]
ARCHITECTURES: tuple[Architecture, ...] = ("topk", "batchtopk", "standard", "jumprelu")


@dataclass(frozen=True)
class SaeTrainingConfig:
    architecture: Architecture = "topk"
    expansion: int = 8  # d_sae = expansion * d_model
    k: int = 16  # TopK / BatchTopK: active latents per token
    l1_coefficient: float = 5.0  # standard
    l0_coefficient: float = 1.0  # JumpReLU
    steps: int = 1500
    batch_size: int = 512
    learning_rate: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class SaeQuality:
    """On held-out tokens: reconstruction quality and sparsity."""

    fraction_variance_explained: float
    l0: float  # mean active latents per token
    dead_fraction: float  # latents never active on the held-out tokens
    n_tokens: int


def _training_sae(config: SaeTrainingConfig, d_in: int) -> Any:
    from sae_lens import (
        BatchTopKTrainingSAE,
        BatchTopKTrainingSAEConfig,
        JumpReLUTrainingSAE,
        JumpReLUTrainingSAEConfig,
        StandardTrainingSAE,
        StandardTrainingSAEConfig,
        TopKTrainingSAE,
        TopKTrainingSAEConfig,
    )

    d_sae = config.expansion * d_in
    if config.architecture == "topk":
        return TopKTrainingSAE(TopKTrainingSAEConfig(d_in=d_in, d_sae=d_sae, k=config.k))
    if config.architecture == "batchtopk":
        return BatchTopKTrainingSAE(BatchTopKTrainingSAEConfig(d_in=d_in, d_sae=d_sae, k=config.k))
    if config.architecture == "standard":
        return StandardTrainingSAE(
            StandardTrainingSAEConfig(d_in=d_in, d_sae=d_sae, l1_coefficient=config.l1_coefficient)
        )
    return JumpReLUTrainingSAE(
        JumpReLUTrainingSAEConfig(d_in=d_in, d_sae=d_sae, l0_coefficient=config.l0_coefficient)
    )


def _batches(tokens: torch.Tensor, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    """Endless shuffled batches [batch_size, d_model] drawn from ``tokens`` [n, d_model]."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(len(tokens), generator=generator)
        for start in range(0, len(order) - batch_size + 1, batch_size):
            yield tokens[order[start : start + batch_size]]


def train_sae(
    tokens: torch.Tensor, config: SaeTrainingConfig, out_dir: Path, hook_name: str, model_id: str
) -> Path:
    """Train on ``tokens`` [n, d_model] and save the inference SAE to ``out_dir``."""
    from sae_lens import SAETrainer
    from sae_lens.config import SAETrainerConfig

    if len(tokens) < config.batch_size:
        raise ValueError(
            f"{len(tokens)} training tokens; need at least one batch of {config.batch_size}"
        )
    torch.manual_seed(config.seed)
    sae = _training_sae(config, int(tokens.shape[1]))
    sae.cfg.metadata.hook_name = hook_name
    sae.cfg.metadata.model_name = model_id
    trainer_config = SAETrainerConfig(
        total_training_samples=config.steps * config.batch_size,
        train_batch_size_samples=config.batch_size,
        lr=config.learning_rate,
        lr_end=config.learning_rate / 10,
        lr_scheduler_name="cosineannealing",
        lr_warm_up_steps=config.steps // 20,
        dead_feature_window=max(config.steps // 5, 1),
        feature_sampling_window=max(config.steps // 5, 1),
        n_batches_for_norm_estimate=8,
    )
    trained = SAETrainer(
        cfg=trainer_config, sae=sae, data_provider=_batches(tokens, config.batch_size, config.seed)
    ).fit()
    trained.save_inference_model(out_dir)
    return out_dir


def load_sae(folder: Path) -> Any:
    """The saved inference SAE (``sae_lens.SAE``), loaded once and shared by the analyses."""
    from sae_lens import SAE

    return SAE.load_from_disk(folder)


def evaluate_sae(sae: Any, tokens: torch.Tensor, batch_size: int = 4096) -> SaeQuality:
    """Reconstruction and sparsity on held-out ``tokens`` [n, d_model]."""
    squared_error, active, total = 0.0, 0.0, 0
    ever_active = torch.zeros(sae.cfg.d_sae, dtype=torch.bool)
    mean = tokens.mean(dim=0)  # [d_model]
    variance = float(((tokens - mean) ** 2).sum())
    with torch.no_grad():
        for start in range(0, len(tokens), batch_size):
            x = tokens[start : start + batch_size]  # [b, d_model]
            acts = sae.encode(x)  # [b, d_sae]
            squared_error += float(((x - sae.decode(acts)) ** 2).sum())
            fired = acts > 0
            active += float(fired.sum())
            ever_active |= fired.any(dim=0)
            total += len(x)
    return SaeQuality(
        1.0 - squared_error / variance, active / total, float((~ever_active).float().mean()), total
    )


def encode_tokens(sae: Any, tokens: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """All latent activations of ``tokens`` [n, d_model] -> [n, d_sae] (sae-lens' encode)."""
    with torch.no_grad():
        parts: list[torch.Tensor] = [
            sae.encode(tokens[i : i + batch_size]) for i in range(0, len(tokens), batch_size)
        ]
    return torch.cat(parts)
