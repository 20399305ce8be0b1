"""One pack, described for a person: ``emwatch probes show`` and the end of ``probes build``."""

from __future__ import annotations

from collections.abc import Mapping

from monitor.cli.common import thresholds
from monitor.core.pack import FeatureCalibration, ProbePack


def describe(pack: ProbePack) -> str:
    provenance = pack.manifest.provenance
    lines = [
        f"probe pack {pack.name} (schema {pack.manifest.schema_version}, "
        f"hash {pack.content_hash[:12]})",
        f"  model      {provenance.model_id} (d_model {provenance.d_model})",
        f"  created    {provenance.created_at} by emwatch {provenance.emwatch_version}",
    ]
    detector = pack.manifest.detector
    if detector is None:
        lines.append("  detector   the service's defaults (the pack is not calibrated)")
    else:
        lines.append(f"  detector   {thresholds(detector)} (warning/critical, in calibrated units)")
    for hook_point, probe in pack.hooks.items():
        spec = pack.manifest.hook_points[hook_point]
        lines.append(f"  {hook_point}")
        width = max((len(d.name) for d in probe.directions), default=0)
        for direction in probe.directions:
            lines.append(
                f"    direction {direction.name:<{width}}  method={direction.spec.method} "
                f"norm={direction.spec.norm:.3g}{_unit(spec.calibration, direction.feature)}"
            )
        if spec.sae is not None:
            loaded = "" if probe.latents is not None else " (not loaded)"
            lines.append(
                f"    sae {spec.sae.architecture} d_sae={spec.sae.d_sae} "
                f"source={spec.sae.source}{loaded}"
            )
            for latent in spec.sae.watched_latents:
                sign = "+" if latent.sign > 0 else "-"
                unit = _unit(spec.calibration, f"latent:{latent.index}")
                lines.append(f"      latent {latent.index:<8} {sign} {latent.label}{unit}")
    return "\n".join(lines)


def _unit(calibration: Mapping[str, FeatureCalibration], feature: str) -> str:
    """`` unit=...`` for a calibrated feature, else nothing."""
    return f"  unit={calibration[feature].scale:.4g}" if feature in calibration else ""
