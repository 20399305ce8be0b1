"""``emwatch probes ...``: check and register probe packs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from monitor.cli import probe_build, probe_calibrate
from monitor.cli.common import add_service_options, client_from, reports_errors
from monitor.cli.pack_summary import describe
from monitor.core.pack import ProbePackError, load_pack


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

    show = commands.add_parser(
        "show",
        help="summarise a pack and its validation report",
        description="Print what a pack watches and the headline numbers of its validation "
        "report (held-out AUROC per layer, SAE quality, watched latents).",
        epilog="example: emwatch probes show packs/llama-8b",
    )
    show.add_argument("directory", type=Path)
    show.set_defaults(handler=show_pack)
    probe_build.add_parser(commands)
    probe_calibrate.add_parser(commands)

    organism = commands.add_parser(
        "organism",
        help="build the persona organism's pack (about 10 minutes on 2 cores)",
        description="Build the probe pack of the persona model organism end to end: fine-tune it "
        "on insecure-code and bad-medical, contrast judged answers, diff models, "
        "persona prompts, train an SAE on its pre-training corpus, pick persona "
        "latents, steer, and write the pack with its validation report.",
        epilog="example: emwatch probes organism --out monitor/organism/pack",
    )
    organism.add_argument("--out", type=Path, required=True, help="pack directory to write")
    organism.add_argument("--seed", type=int, default=0)
    organism.add_argument(
        "--watch-every-layer",
        action="store_true",
        help="directions at every layer, not only the best-separating one",
    )
    organism.set_defaults(handler=build_organism)
    probes.set_defaults(handler=lambda _args: probes.print_help() or 2)


def build_organism(args: argparse.Namespace) -> int:
    import logging

    from monitor.organism.pack_build import OrganismPackConfig, build_organism_pack
    from monitor.probe_building.report import write_report

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    pack, report = build_organism_pack(
        args.out, OrganismPackConfig(seed=args.seed, watch_every_layer=args.watch_every_layer)
    )
    print(describe(pack))
    print(f"report: {write_report(report, args.out)}")
    return 0


@reports_errors
def show_pack(args: argparse.Namespace) -> int:
    from monitor.probe_building.report import REPORT_DIR

    print(describe(load_pack(args.directory, release_loader=None)))
    report = args.directory / REPORT_DIR / "report.json"
    if not report.is_file():
        print("no validation report (packs built by `emwatch probes build` have one)")
        return 0
    data = json.loads(report.read_text())
    print(f"validation report: {report.parent / 'report.md'}")
    for method, layers in data["layers"].items():
        cells = ", ".join(
            f"{layer['hook_point'].rsplit('.', 1)[-1]}:{layer['auroc']:.2f}" for layer in layers
        )
        print(f"  {method:<17} held-out AUROC by layer  {cells}")
    if data["sae"]:
        sae = data["sae"]
        print(
            f"  SAE  variance explained {sae['fraction_variance_explained']:.3f}  "
            f"L0 {sae['l0']:.1f}  dead {100 * sae['dead_fraction']:.1f}%"
        )
    for latent in data["latents"]:
        print(
            f"  latent {latent['index']:<6} rise {latent['rise']:.3f}  decoder cos "
            f"{latent['decoder_cosine']:.2f}  persona contexts "
            f"{100 * latent['persona_share']:.0f}%"
        )
    return 0


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
