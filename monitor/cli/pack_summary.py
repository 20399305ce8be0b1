"""One pack, described for a person: ``emwatch probes show`` and the end of ``probes build``.

It says which z unit each feature uses (calibrated, from the build, or the baseline spread),
because the thresholds mean nothing without it.
"""

from __future__ import annotations

from monitor.cli.common import thresholds
from monitor.core.pack import ProbePack
from monitor.core.units import UnitKind, feature_units, pack_unit_kind, unit_kinds

UNIT_MEANING = {
    UnitKind.CALIBRATED: "calibrated units: z = 1 is as far as a healthy fine-tune went",
    UnitKind.BUILD: "build units: z = 1 is the whole way to the persona; calibrate "
    "(emwatch probes calibrate) for the recommended units",
    UnitKind.BASELINE_SPREAD: "some features have no unit, so z is in the spread of the "
    "baseline's prompts; rebuild or calibrate the pack",
}


def describe(pack: ProbePack) -> str:
    provenance = pack.manifest.provenance
    lines = [
        f"probe pack {pack.name} (schema {pack.manifest.schema_version}, "
        f"hash {pack.content_hash[:12]})",
        f"  model      {provenance.model_id} (d_model {provenance.d_model})",
        f"  created    {provenance.created_at} by emwatch {provenance.emwatch_version}",
        f"  units      {UNIT_MEANING[pack_unit_kind(pack)]}",
    ]
    detector = pack.manifest.detector
    if detector is None:
        lines.append("  detector   the service's defaults (the pack carries no thresholds)")
    else:
        lines.append(f"  detector   {thresholds(detector)} (warning/critical)")
    units, kinds = feature_units(pack), unit_kinds(pack)

    def unit(hook_point: str, feature: str) -> str:
        key = (hook_point, feature)
        return f"  unit={units[key]:.4g} ({kinds[key]})" if key in units else ""

    for hook_point, probe in pack.hooks.items():
        spec = pack.manifest.hook_points[hook_point]
        lines.append(f"  {hook_point}")
        width = max((len(d.name) for d in probe.directions), default=0)
        for direction in probe.directions:
            lines.append(
                f"    direction {direction.name:<{width}}  method={direction.spec.method} "
                f"norm={direction.spec.norm:.3g}{unit(hook_point, direction.feature)}"
            )
        if spec.sae is not None:
            loaded = "" if probe.latents is not None else " (not loaded)"
            lines.append(
                f"    sae {spec.sae.architecture} d_sae={spec.sae.d_sae} "
                f"source={spec.sae.source}{loaded}"
            )
            for latent in spec.sae.watched_latents:
                sign = "+" if latent.sign > 0 else "-"
                lines.append(
                    f"      latent {latent.index:<8} {sign} {latent.label}"
                    f"{unit(hook_point, latent.feature)}"
                )
    return "\n".join(lines)
