"""Read an SAE saved in sae-lens' on-disk format (``cfg.json`` + ``sae_weights.safetensors``).

Reading the two files directly, rather than through ``sae_lens.SAE.load_from_disk``, keeps the
service free of sae-lens' heavy import (transformer-lens and friends) while the parity tests
hold the two to the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from monitor.core.sae.encoders import (
    SUPPORTED_ARCHITECTURES,
    GatedEncoder,
    InputNormalization,
    JumpReLUEncoder,
    LatentEncoder,
    NormalizationMode,
    StandardEncoder,
    TopKEncoder,
)

CONFIG_FILE = "cfg.json"
WEIGHTS_FILE = "sae_weights.safetensors"

# Normalisations sae-lens applies at encode time, and those it folds into the weights first.
_RUNTIME_NORMALIZATIONS = ("none", "constant_norm_rescale", "layer_norm")
_FOLDED_NORMALIZATIONS = ("expected_average_only_in", "covariance_whitening")

_REQUIRED_TENSORS: dict[str, tuple[str, ...]] = {
    "standard": ("W_enc", "b_enc", "b_dec"),
    "jumprelu": ("W_enc", "b_enc", "b_dec", "threshold"),
    "gated": ("W_enc", "b_gate", "r_mag", "b_mag", "b_dec"),
    "topk": ("W_enc", "b_enc", "b_dec"),
}


class SaeFormatError(ValueError):
    """An SAE folder cannot be used for scoring; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class SaeFolderInfo:
    """The parts of ``cfg.json`` that scoring and validation care about."""

    architecture: str
    d_in: int
    d_sae: int
    hook_name: str | None
    config: dict[str, Any]


def read_sae_info(folder: Path) -> SaeFolderInfo:
    """Parse and check ``cfg.json`` without touching the weights."""
    cfg_path = folder / CONFIG_FILE
    if not cfg_path.is_file():
        raise SaeFormatError(
            f"SAE folder {folder} has no {CONFIG_FILE}; save the SAE with "
            "sae-lens' save_inference_model(dir)"
        )
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as exc:
        raise SaeFormatError(f"{cfg_path} is not valid JSON: {exc}") from exc
    if not isinstance(cfg, dict):
        raise SaeFormatError(f"{cfg_path} must hold a JSON object")
    return parse_sae_config(cfg, source=str(cfg_path))


def parse_sae_config(cfg: dict[str, Any], source: str) -> SaeFolderInfo:
    """Check an sae-lens config dict; ``source`` names it in error messages."""
    architecture = str(cfg.get("architecture", "<missing>"))
    if architecture == "batchtopk":
        raise SaeFormatError(
            f"{source} holds a BatchTopK *training* config; save the SAE with "
            "save_inference_model(dir), which converts BatchTopK to its JumpReLU inference form"
        )
    if architecture not in SUPPORTED_ARCHITECTURES:
        raise SaeFormatError(
            f"unknown SAE architecture {architecture!r} in {source}; emwatch scores "
            f"{', '.join(SUPPORTED_ARCHITECTURES)} (BatchTopK via its JumpReLU inference form)"
        )
    if cfg.get("reshape_activations", "none") != "none":
        raise SaeFormatError(
            f"{source}: reshape_activations={cfg['reshape_activations']!r} is for attention "
            "hook_z SAEs; emwatch captures the residual stream and needs 'none'"
        )
    normalization = cfg.get("normalize_activations", "none")
    if normalization not in _RUNTIME_NORMALIZATIONS + _FOLDED_NORMALIZATIONS:
        raise SaeFormatError(f"{source}: unknown normalize_activations {normalization!r}")
    try:
        d_in, d_sae = int(cfg["d_in"]), int(cfg["d_sae"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SaeFormatError(f"{source} needs integer d_in and d_sae ({exc})") from exc
    metadata = cfg.get("metadata") if isinstance(cfg.get("metadata"), dict) else {}
    hook_name = metadata.get("hook_name") if metadata else None
    return SaeFolderInfo(architecture, d_in, d_sae, hook_name, cfg)


def _read_weights(folder: Path, info: SaeFolderInfo) -> dict[str, torch.Tensor]:
    weights_path = folder / WEIGHTS_FILE
    if not weights_path.is_file():
        raise SaeFormatError(f"SAE folder {folder} has no {WEIGHTS_FILE}")
    try:
        state = load_file(weights_path)
    except (SafetensorError, OSError) as exc:
        raise SaeFormatError(f"{weights_path} is not a readable safetensors file: {exc}") from exc
    return check_weights(state, info, source=str(weights_path))


def check_weights(
    state: dict[str, torch.Tensor], info: SaeFolderInfo, source: str
) -> dict[str, torch.Tensor]:
    """Check shapes and finiteness of an SAE state dict; return it as float32."""
    if "log_threshold" in state and "threshold" not in state:  # older JumpReLU checkpoints
        state["threshold"] = state.pop("log_threshold").exp()
    expected_shapes = {
        "W_enc": (info.d_in, info.d_sae),
        "b_dec": (info.d_in,),
        **{name: (info.d_sae,) for name in ("b_enc", "threshold", "b_gate", "r_mag", "b_mag")},
    }
    for name in _REQUIRED_TENSORS[info.architecture]:
        if name not in state:
            raise SaeFormatError(
                f"{source} lacks tensor {name!r} needed by a {info.architecture} SAE"
            )
        tensor = state[name]
        if tuple(tensor.shape) != expected_shapes[name]:
            raise SaeFormatError(
                f"{source}: {name} has shape {tuple(tensor.shape)}, expected "
                f"{expected_shapes[name]} from d_in={info.d_in}, d_sae={info.d_sae}"
            )
        if not torch.isfinite(tensor).all():
            raise SaeFormatError(f"{source}: {name} holds NaN or infinite values")
    return {name: tensor.float() for name, tensor in state.items()}


def load_sae_folder(folder: Path, watched: tuple[int, ...]) -> LatentEncoder:
    """Load an encoder for the ``watched`` latents of the SAE saved in ``folder``."""
    info = read_sae_info(folder)
    _check_watched(info, watched)
    return build_encoder(info, _read_weights(folder, info), watched)


def _check_watched(info: SaeFolderInfo, watched: tuple[int, ...]) -> None:
    if not watched:
        raise SaeFormatError("no watched latents given for the SAE")
    out_of_range = [index for index in watched if not 0 <= index < info.d_sae]
    if out_of_range:
        raise SaeFormatError(
            f"watched latent indices {out_of_range} are outside the SAE's d_sae={info.d_sae}"
        )


def build_encoder(
    info: SaeFolderInfo, state: dict[str, torch.Tensor], watched: tuple[int, ...]
) -> LatentEncoder:
    """Turn a checked config and float32 state dict into the architecture's watched encoder."""
    _check_watched(info, watched)
    mode = info.config.get("normalize_activations", "none")
    runtime_mode: NormalizationMode = mode if mode in _RUNTIME_NORMALIZATIONS else "none"
    b_dec = state["b_dec"] * float(bool(info.config.get("apply_b_dec_to_input", True)))
    normalization = InputNormalization(runtime_mode, b_dec)
    columns = list(watched)
    w_enc = state["W_enc"][:, columns].contiguous()  # [d_in, n_watched]
    if info.architecture == "standard":
        return StandardEncoder(normalization, w_enc, state["b_enc"][columns], info.d_sae, watched)
    if info.architecture == "jumprelu":
        return JumpReLUEncoder(
            normalization,
            w_enc,
            state["b_enc"][columns],
            state["threshold"][columns],
            info.d_sae,
            watched,
        )
    if info.architecture == "gated":
        return GatedEncoder(
            normalization,
            w_enc,
            state["b_gate"][columns],
            state["r_mag"][columns],
            state["b_mag"][columns],
            info.d_sae,
            watched,
        )
    k = int(info.config.get("k", 0))
    if not 0 < k <= info.d_sae:
        raise SaeFormatError(f"TopK SAE has k={k}; need 0 < k <= d_sae={info.d_sae}")
    decoder_norms = None
    if info.config.get("rescale_acts_by_decoder_norm", False):
        if "W_dec" not in state:
            raise SaeFormatError("rescale_acts_by_decoder_norm needs W_dec in the weights")
        decoder_norms = state["W_dec"].norm(dim=-1)  # [d_sae]
    return TopKEncoder(normalization, state["W_enc"], state["b_enc"], k, decoder_norms, watched)
