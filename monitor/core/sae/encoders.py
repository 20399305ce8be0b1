"""Encoders that compute only the watched latents of an SAE.

Each encoder reproduces ``sae_lens`` ``SAE.encode`` for one architecture, restricted to the
watched latent indices: ``encode(x[n, d_in]) -> acts[n, n_watched]`` in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import torch

SUPPORTED_ARCHITECTURES: tuple[str, ...] = ("standard", "jumprelu", "gated", "topk")

NormalizationMode = Literal["none", "constant_norm_rescale", "layer_norm"]


@dataclass(frozen=True)
class InputNormalization:
    """sae-lens' ``process_sae_in``: run-time normalisation, then subtract ``b_dec``.

    ``expected_average_only_in`` and ``covariance_whitening`` are folded into the weights by
    sae-lens before saving an inference model, so at encode time they are the identity.
    """

    mode: NormalizationMode
    b_dec: torch.Tensor  # [d_in], already multiplied by apply_b_dec_to_input (0 or 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # x: [n, d_in] -> [n, d_in]
        if self.mode == "constant_norm_rescale":
            d_in = x.shape[-1]
            x = x * (d_in**0.5) / x.norm(dim=-1, keepdim=True)
        elif self.mode == "layer_norm":
            mu = x.mean(dim=-1, keepdim=True)
            centred = x - mu
            x = centred / (centred.std(dim=-1, keepdim=True) + 1e-5)
        return x - self.b_dec


class LatentEncoder(Protocol):
    """What scoring needs from an SAE: the watched latents' activations."""

    @property
    def architecture(self) -> str: ...

    @property
    def d_in(self) -> int: ...

    @property
    def d_sae(self) -> int: ...

    @property
    def watched(self) -> tuple[int, ...]: ...

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """x: [n, d_in] float32 -> [n, len(watched)] float32."""
        ...


class _ReadsEncoderWidth:
    """``d_in`` from the encoder matrix, which every architecture keeps as ``w_enc``."""

    w_enc: torch.Tensor  # [d_in, n_kept]

    @property
    def d_in(self) -> int:
        return int(self.w_enc.shape[0])


@dataclass(frozen=True)
class StandardEncoder(_ReadsEncoderWidth):
    """ReLU SAE: ``relu(x' @ W_enc + b_enc)``, watched columns only."""

    normalization: InputNormalization
    w_enc: torch.Tensor  # [d_in, n_watched]
    b_enc: torch.Tensor  # [n_watched]
    d_sae: int
    watched: tuple[int, ...]
    architecture: str = "standard"

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        hidden_pre = self.normalization(x) @ self.w_enc + self.b_enc  # [n, n_watched]
        return hidden_pre.relu()


@dataclass(frozen=True)
class JumpReLUEncoder(_ReadsEncoderWidth):
    """JumpReLU SAE (and BatchTopK, which sae-lens saves as JumpReLU): ReLU gated by a threshold."""

    normalization: InputNormalization
    w_enc: torch.Tensor  # [d_in, n_watched]
    b_enc: torch.Tensor  # [n_watched]
    threshold: torch.Tensor  # [n_watched]
    d_sae: int
    watched: tuple[int, ...]
    architecture: str = "jumprelu"

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        hidden_pre = self.normalization(x) @ self.w_enc + self.b_enc  # [n, n_watched]
        return hidden_pre.relu() * (hidden_pre > self.threshold).to(hidden_pre.dtype)


@dataclass(frozen=True)
class GatedEncoder(_ReadsEncoderWidth):
    """Gated SAE: a gate path decides which latents fire, a magnitude path how strongly."""

    normalization: InputNormalization
    w_enc: torch.Tensor  # [d_in, n_watched]
    b_gate: torch.Tensor  # [n_watched]
    r_mag: torch.Tensor  # [n_watched]
    b_mag: torch.Tensor  # [n_watched]
    d_sae: int
    watched: tuple[int, ...]
    architecture: str = "gated"

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        sae_in = self.normalization(x)  # [n, d_in]
        active = (sae_in @ self.w_enc + self.b_gate > 0).to(sae_in.dtype)  # [n, n_watched]
        magnitude = (sae_in @ (self.w_enc * self.r_mag.exp()) + self.b_mag).relu()
        return active * magnitude


@dataclass(frozen=True)
class TopKEncoder(_ReadsEncoderWidth):
    """TopK SAE: a latent's value depends on every other latent, so encode all, then select."""

    normalization: InputNormalization
    w_enc: torch.Tensor  # [d_in, d_sae]
    b_enc: torch.Tensor  # [d_sae]
    k: int
    decoder_norms: torch.Tensor | None  # [d_sae] when rescale_acts_by_decoder_norm, else None
    watched: tuple[int, ...]
    architecture: str = "topk"

    @property
    def d_sae(self) -> int:
        return int(self.w_enc.shape[1])

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        hidden_pre = self.normalization(x) @ self.w_enc + self.b_enc  # [n, d_sae]
        if self.decoder_norms is not None:
            hidden_pre = hidden_pre * self.decoder_norms
        # A watched latent survives TopK iff it reaches the row's k-th largest pre-activation,
        # so compare against that instead of scattering a full [n, d_sae] output.
        kth = torch.topk(hidden_pre, k=self.k, dim=-1).values[:, -1:]  # [n, 1]
        watched = hidden_pre[:, list(self.watched)]  # [n, n_watched]
        return torch.where(watched >= kth, watched.relu(), torch.zeros_like(watched))
