"""``emwatch probes calibrate``: set a pack's z-score units from your own healthy fine-tunes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from monitor.cli.common import print_table, reports_errors, thresholds
from monitor.core.pack import rename_pack
from monitor.core.pack.manifest import SHORT_NAME


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "calibrate",
        help="calibrate a pack on recordings of healthy fine-tunes",
        description="Read the canary activations that healthy fine-tunes of the pack's model "
        "recorded (MonitorConfig(record_to=...) on runs whose data you trust), add to the pack "
        "a copy of each direction with the drift those runs share projected out, and write "
        "each feature's largest healthy rise (its z-score unit) and the matching detector "
        "thresholds into the pack. Needs two runs or more; runs on several different "
        "healthy datasets are best (including plain chat): a pack calibrated on too narrow "
        "healthy data can page on a healthy fine-tune in another domain. Name each "
        "recording's dataset (DATASET=FILE) and, with three datasets or more, each run is "
        "held out against the drift of the other datasets. Calibrating again replaces the "
        "earlier calibration.",
        epilog="example: emwatch probes calibrate --pack packs/llama-8b "
        "chat=recordings/sft-chat.safetensors code=recordings/sft-code.safetensors "
        "medical=recordings/sft-medical.safetensors",
    )
    parser.add_argument("--pack", type=Path, required=True, help="probe pack directory")
    parser.add_argument(
        "--name",
        type=_pack_name,
        help="also rename the pack: a service that registered it before keeps the old content "
        "under the old name, so the calibrated pack needs a new one to be registered there",
    )
    parser.add_argument(
        "recordings",
        type=_recording_argument,
        nargs="+",
        metavar="[DATASET=]FILE",
        help="recording files (safetensors), each optionally prefixed by its dataset's name",
    )
    parser.set_defaults(handler=calibrate)


@reports_errors
def calibrate(args: argparse.Namespace) -> int:
    from monitor.probe_building.calibration import (
        CalibrationError,
        calibrate_from_recordings,
        held_out_groups,
    )
    from monitor.trainer.recording import RecordingError, load_recording

    named = [dataset for dataset, _ in args.recordings if dataset is not None]
    if named and len(named) < len(args.recordings):
        print("error: name the dataset of every recording (DATASET=FILE) or of none")
        return 2
    try:
        recordings = [load_recording(path) for _, path in args.recordings]
        datasets = (
            {r.run: dataset for r, (dataset, _) in zip(recordings, args.recordings, strict=True)}
            if named
            else None
        )
        pack, units = calibrate_from_recordings(args.pack, recordings, datasets)
    except (RecordingError, CalibrationError) as exc:
        print(f"error: {exc}")
        return 2
    if args.name is not None:
        pack = rename_pack(args.pack, args.name)
    runs = ", ".join(f"{r.run} ({len(r.steps)} checks)" for r in recordings)
    print(f"calibrated {pack.name} in {args.pack} on {runs}")
    if held_out_groups(datasets) is not None:
        print(
            f"drift-removed units: each run held out against the other {len(set(named))} datasets"
        )
    else:
        print(
            "drift-removed units: each run held out against the other runs (name three "
            "datasets or more, DATASET=FILE, to hold out whole datasets)"
        )
    rows: list[list[object]] = [
        [hook, feature, f"{unit.scale:.4g}", f"{unit.mean_shift:.4g}", unit.n_checks]
        for hook, features in units.items()
        for feature, unit in features.items()
    ]
    print_table(["hook point", "feature", "unit", "mean rise", "checks"], rows)
    detector = pack.manifest.detector
    if detector is not None:
        print(f"detector (warning/critical, in units): {thresholds(detector)}")
    if args.name is None:
        print(
            f"note: a service that registered {pack.name!r} before keeps that content; "
            f"register this one there under a new name (--name {pack.name}-calibrated)"
        )
    return 0


def _recording_argument(value: str) -> tuple[str | None, Path]:
    """argparse type: ``FILE`` or ``DATASET=FILE``."""
    dataset, separator, path = value.partition("=")
    if not separator:
        return None, Path(value)
    if not SHORT_NAME.fullmatch(dataset) or not path:
        raise argparse.ArgumentTypeError(
            f"{value!r}: write a recording as FILE or DATASET=FILE, the dataset's name made of "
            "letters, digits, '_', '.', '-'"
        )
    return dataset, Path(path)


def _pack_name(value: str) -> str:
    """argparse type: a valid pack name, checked before anything is written."""
    if not SHORT_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a pack name: letters, digits, '_', '.', '-', at most 64, "
            "starting with a letter or digit"
        )
    return value
