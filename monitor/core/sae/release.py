"""SAEs named by a sae-lens release and id, fetched through ``SAE.from_pretrained``.

This needs a reachable model hub and the ``sae`` extra; local SAE folders need neither.
"""

from __future__ import annotations

from monitor.core.sae.encoders import LatentEncoder
from monitor.core.sae.folder import SaeFormatError, build_encoder, check_weights, parse_sae_config


def load_sae_release(release: str, sae_id: str, watched: tuple[int, ...]) -> LatentEncoder:
    """Download (or read from the local hub cache) a sae-lens SAE and keep its watched latents."""
    try:
        from sae_lens import SAE
    except ImportError as exc:
        raise SaeFormatError("SAE releases need sae-lens: pip install 'emwatch[sae]'") from exc
    source = f"sae-lens release {release!r} id {sae_id!r}"
    try:
        sae = SAE.from_pretrained(release, sae_id, device="cpu")
    except Exception as exc:  # the hub client raises many types; all mean "not available"
        raise SaeFormatError(f"could not load {source}: {exc}") from exc
    info = parse_sae_config(sae.cfg.to_dict(), source=source)
    state = {name: tensor.detach() for name, tensor in sae.state_dict().items()}
    return build_encoder(info, check_weights(state, info, source=source), watched)
