"""``emwatch probes ...``: check and register probe packs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from monitor.cli.common import add_service_options, client_from, reports_errors
from monitor.probe import ProbePack, ProbePackError, load_pack


def register(subparsers: Any) -> None:
    probes = subparsers.add_parser(
        "probes",
        help="validate and register probe packs",
        description="A probe pack is a directory (manifest.json + safetensors) holding the "
        "misalignment directions and watched SAE latents for one model.",
    )
    commands = probes.add_subparsers(title="commands", metavar="COMMAND")

    validate = commands.add_parser(
        "validate",
        help="check a pack directory offline",
        description="Load a probe pack and check everything: schema, file hashes, tensor "
        "shapes against d_model, finite values, SAE architecture and latent "
        "indices. Prints a summary, or the exact problem and exits 1.",
        epilog="example: emwatch probes validate packs/llama-8b",
    )
    validate.add_argument("directory", type=Path)
    validate.add_argument(
        "--skip-release-saes",
        action="store_true",
        help="do not download SAEs named by a sae-lens release",
    )
    validate.set_defaults(handler=validate_pack)

    upload = commands.add_parser(
        "register",
        help="upload a pack to the service",
        description="Validate a pack locally, then register it with the service under the "
        "name in its manifest. Registering the same content again is a no-op.",
        epilog="example: emwatch probes register packs/llama-8b",
    )
    upload.add_argument("directory", type=Path)
    add_service_options(upload)
    upload.set_defaults(handler=register_pack)
    probes.set_defaults(handler=lambda _args: probes.print_help() or 2)


def describe(pack: ProbePack) -> str:
    provenance = pack.manifest.provenance
    lines = [
        f"probe pack {pack.name} (schema {pack.manifest.schema_version}, "
        f"hash {pack.content_hash[:12]})",
        f"  model      {provenance.model_id} (d_model {provenance.d_model})",
        f"  created    {provenance.created_at} by emwatch {provenance.emwatch_version}",
    ]
    for hook_point, probe in pack.hooks.items():
        spec = pack.manifest.hook_points[hook_point]
        lines.append(f"  {hook_point}")
        for direction in probe.directions:
            lines.append(
                f"    direction {direction.name:<20} method={direction.spec.method} "
                f"norm={direction.spec.norm:.3g}"
            )
        if spec.sae is not None:
            loaded = "" if probe.latents is not None else " (not loaded)"
            lines.append(
                f"    sae {spec.sae.architecture} d_sae={spec.sae.d_sae} "
                f"source={spec.sae.source}{loaded}"
            )
            for latent in spec.sae.watched_latents:
                sign = "+" if latent.sign > 0 else "-"
                lines.append(f"      latent {latent.index:<8} {sign} {latent.label}")
        if spec.calibration:
            lines.append(f"    calibrated features: {', '.join(sorted(spec.calibration))}")
    return "\n".join(lines)


def validate_pack(args: argparse.Namespace) -> int:
    try:
        pack = (
            load_pack(args.directory, release_loader=None)
            if args.skip_release_saes
            else load_pack(args.directory)
        )
    except ProbePackError as exc:
        print(f"invalid: {exc}")
        return 1
    print(describe(pack))
    print("valid")
    return 0


@reports_errors
def register_pack(args: argparse.Namespace) -> int:
    load_pack(args.directory)
    with client_from(args) as client:
        result = client.register_pack(args.directory)
    print(f"registered {result['name']} ({result['content_hash'][:12]})")
    return 0
