"""Watched-latent encoders for SAEs in sae-lens' formats.

Scoring only needs a handful of watched latents, so for architectures whose latents are
independent (standard/ReLU, JumpReLU, gated) the encoder keeps just those encoder columns.
TopK must rank all latents, so it keeps the full encoder. Results match ``sae_lens.SAE.encode``
(float32) to 1e-5; the parity tests build and train SAEs with sae-lens itself.
"""

from monitor.core.sae.encoders import (
    SUPPORTED_ARCHITECTURES,
    GatedEncoder,
    InputNormalization,
    JumpReLUEncoder,
    LatentEncoder,
    StandardEncoder,
    TopKEncoder,
)
from monitor.core.sae.folder import SaeFolderInfo, SaeFormatError, load_sae_folder, read_sae_info

__all__ = [
    "SUPPORTED_ARCHITECTURES",
    "GatedEncoder",
    "InputNormalization",
    "JumpReLUEncoder",
    "LatentEncoder",
    "SaeFolderInfo",
    "SaeFormatError",
    "StandardEncoder",
    "TopKEncoder",
    "load_sae_folder",
    "read_sae_info",
]
