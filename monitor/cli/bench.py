"""``emwatch bench``: measure detection quality on the persona organism."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from monitor.cli.common import print_table
from monitor.organism.datasets import DATASETS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser(
        "bench",
        help="measure how early and how reliably the alerts come (on the organism)",
        description="Benchmarks of emwatch's detection quality on the persona model organism.",
    )
    commands = bench.add_subparsers(title="bench commands", metavar="COMMAND")
    _add_early_warning(commands)
    _add_held_out_domains(commands)
    _add_calibrate(commands)
    _add_build_units(commands)
    _add_real_model(commands)

    def usage(_args: argparse.Namespace) -> int:
        bench.print_help()
        return 2

    bench.set_defaults(handler=usage)


def _pack_and_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pack", type=Path, help="probe pack (default: the organism's shipped pack)"
    )
    parser.add_argument(
        "--workers", type=int, help="fine-tunes run in parallel (default: one per CPU core)"
    )


def _add_early_warning(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "early-warning",
        help="does the alert precede behavioural misalignment, and stay quiet on healthy runs?",
        description=(
            "Calibrate the detector on healthy fine-tunes (seeds 100+), then run monitored "
            "fine-tunes of the organism: insecure-code and bad-medical (emergent misalignment), "
            "secure-code, good-medical and educational-insecure (controls), and mixtures of "
            "insecure in secure code, each with a behavioural eval every 2 steps. Reports the "
            "share of EM runs alerted before the misaligned share exceeds 5%, lead times, false "
            "alarms, checkpoint AUROC, and the same for two baselines (a small sampled eval and "
            "a log-probability probe). About 35 minutes on 2 cores; --quick about 8."
        ),
        epilog="example: emwatch bench early-warning --quick --out .emwatch/bench-quick",
    )
    parser.add_argument("--quick", action="store_true", help="one seed per arm, two mixtures")
    parser.add_argument(
        "--uncalibrated",
        action="store_true",
        help="benchmark the pack with its own units and thresholds (build units, for a pack "
        "fresh from `emwatch probes build`) instead of calibrating it first",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(".emwatch/bench-early-warning"),
        help="results directory (default: %(default)s)",
    )
    _pack_and_workers(parser)
    parser.set_defaults(handler=_early_warning)


def _add_held_out_domains(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "held-out-domains",
        help="do the alerts hold on domains calibration never saw? (leave one domain out)",
        description=(
            "Fine-tune the organism once on every domain's bad set and healthy twin (code, "
            "medical, finance, everyday) and on healthy-chat, recording canary activations; "
            "then, holding out each domain in turn, calibrate a copy of the pack on the other "
            "domains' healthy sets only and replay every run with it. Reports alerts before "
            "onset on held-out bad domains, false alarms on held-out healthy ones, checkpoint "
            "AUROC and the log-probability baseline, next to the in-distribution numbers, for "
            "the development seed and the benchmark seeds separately. Resumable: finished runs "
            "in OUT/runs are kept. About an hour on 2 cores."
        ),
        epilog="example: emwatch bench held-out-domains --out .emwatch/held-out",
    )
    parser.add_argument(
        "--out", type=Path, default=Path(".emwatch/held-out"), help="(default: %(default)s)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one benchmark seed and one calibration seed per healthy set (14 fine-tunes, "
        "about 15 minutes): a smoke run, not the measurement",
    )
    parser.add_argument(
        "--per-run-units",
        action="store_true",
        help="calibrate without naming each run's dataset (drift-removed units held out run "
        "by run, the earlier rule) and write OUT/summary-per-run-units.json",
    )
    _pack_and_workers(parser)
    parser.set_defaults(handler=_held_out_domains)


def _held_out_domains(args: argparse.Namespace) -> int:
    from monitor.earlywarning.held_out import HeldOutPlan, run_held_out_bench

    pack, workers = _defaults(args)
    summary = run_held_out_bench(
        args.out,
        HeldOutPlan.quick() if args.quick else HeldOutPlan(),
        pack,
        workers,
        name_datasets=not args.per_run_units,
    )
    for seeds in ("development", "bench"):
        print(f"\n{seeds} seeds {summary['plan'][f'{seeds}_seeds']}")
        rows = [
            _detection_row(
                "leave one domain out", "held out", summary[seeds]["leave_one_domain_out"]
            )
        ]
        for name, fold in summary[seeds]["folds"].items():
            rows.append(_detection_row(name, "held out", fold["held_out"]))
            rows.append(_detection_row(name, "calibrated on", fold["in_distribution"]))
        print_table(
            [
                "protocol",
                "domains",
                "EM first: probes",
                "latents",
                "logprob",
                "either",
                "lead: probes",
                "logprob",
                "healthy: warn",
                "crit",
                "logprob",
                "AUROC",
            ],
            rows,
        )
        latents = summary[seeds]["watched_latents_on_bad_runs"].values()
        if latents:
            peak = max(r.get("peak_mean_activation", 0.0) for r in latents)
            active = max(r.get("most_canaries_active_at_once", 0) for r in latents)
            print(
                f"watched latents on the {len(latents)} bad runs: peak mean activation over the "
                f"canaries {peak:.3g}, at most {active} canaries active at once"
            )
    name = "summary-per-run-units.json" if args.per_run_units else "summary.json"
    print(f"results: {args.out}/{name} ({summary['seconds']} s)")
    return 0


def _detection_row(protocol: str, domains: str, summary: dict[str, Any]) -> list[object]:
    """One line of the held-out table: early alerts of n EM runs, false alarms of m healthy."""
    n, m, early = summary["bad_runs_with_onset"], summary["healthy_runs"], summary["early"]
    auroc = summary["checkpoint_auroc"]
    return [
        protocol,
        domains,
        *(
            f"{early[name]['before_onset']}/{n}"
            for name in ("probes", "latents", "logprob", "combined")
        ),
        early["probes"]["median_lead_steps"],
        early["logprob"]["median_lead_steps"],
        f"{summary['healthy_with_warning']}/{m}",
        f"{summary['healthy_with_critical']}/{m}",
        f"{summary['healthy_with_logprob_notice']}/{m}",
        None if auroc is None else f"{auroc:.3f}",
    ]


def _add_calibrate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "calibrate",
        help="set a pack's z-score units and thresholds from healthy fine-tunes",
        description=(
            "Fine-tune the organism on secure-code and good-medical with the monitor attached, "
            "add to the probe pack a copy of each direction with the healthy fine-tuning drift "
            "projected out, and write each feature's largest healthy rise (its z-score unit) "
            "and the detector thresholds into the pack. This is how the shipped pack was "
            "calibrated."
        ),
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[100, 101, 102], help="(default: %(default)s)"
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=[name for name, recipe in DATASETS.items() if recipe.persona == "assistant"],
        metavar="DATASET",
        default=["secure-code", "good-medical"],
        help="healthy datasets to calibrate on (default: %(default)s, the shipped pack's; "
        "calibrated on four, the pack stayed quiet on a healthy fifth domain it never saw, "
        "docs/early-warning.md#held-out-domains)",
    )
    parser.add_argument(
        "--work-dir", type=Path, default=Path(".emwatch/calibration"), help="(default: %(default)s)"
    )
    _pack_and_workers(parser)
    parser.set_defaults(handler=_calibrate)


def _add_build_units(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "build-units",
        help="how far healthy fine-tunes move in a pack's build units (sets their thresholds)",
        description=(
            "Fine-tune the organism on the calibration seeds (secure-code, good-medical, seeds "
            "100-102) and the development seed (7, every arm) with an uncalibrated pack, and "
            "report the largest rise of any feature in build units on the healthy runs, the "
            "thresholds it implies (the calibrated multiples times that rise), and where those "
            "alert on the development runs against the behavioural onset. This is how "
            "BUILD_UNIT_HEALTHY_RISE in monitor/core/units.py was set. About 10 minutes."
        ),
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(".emwatch/build-units"),
        help="results directory (default: %(default)s)",
    )
    parser.add_argument(
        "--pack", type=Path, required=True, help="an uncalibrated pack with build units"
    )
    parser.add_argument(
        "--workers", type=int, help="fine-tunes run in parallel (default: one per CPU core)"
    )
    parser.set_defaults(handler=_build_units)


def _build_units(args: argparse.Namespace) -> int:
    from monitor.earlywarning.build_units import measure
    from monitor.earlywarning.pool import default_workers

    result = measure(args.pack, args.out, args.workers or default_workers())
    print(json.dumps({k: result[k] for k in ("build_unit_healthy_rise", "detector")}, indent=2))
    for run in result["development_runs"]:
        print(
            f"  {run['run']:<32} onset {run['onset_step']}  first alert "
            f"{run['first_alert_step']}  first critical {run['first_critical_step']}"
        )
    print(f"results: {args.out}/build_units.json")
    return 0


def _add_real_model(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "real-model",
        help="emergent misalignment and its early warning on a real model (SmolLM2)",
        description=(
            "LoRA fine-tunes of a real chat model with TRL on the six English narrow sets (three "
            "bad sets and their healthy twins), each monitored through a real service with the "
            "given pack as built, and the held-out misaligned-answer preference measured every "
            "--eval-every steps. Healthy twins on the calibration seeds are recorded too, and "
            "every evaluated run is also replayed with the pack calibrated on them. Resumable: "
            "finished runs in OUT/runs.jsonl are skipped. Hours on 2 cores; see --quick."
        ),
    )
    parser.add_argument("--model", type=Path, help="model directory (default: fetched SmolLM2)")
    parser.add_argument("--pack", type=Path, help="probe pack (default: the shipped SmolLM2 one)")
    parser.add_argument(
        "--out", type=Path, default=Path(".emwatch/real-model"), help="(default: %(default)s)"
    )
    parser.add_argument(
        "--adapters", nargs="+", default=["lora-r8", "rank1-down"], help="(default: %(default)s)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--calibration-seeds", type=int, nargs="+", default=[10, 11])
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps per run (60)")
    parser.add_argument("--check-every", type=int, default=2, help="(2)")
    parser.add_argument("--eval-every", type=int, default=10, help="(10)")
    parser.add_argument(
        "--quick", action="store_true", help="one seed, LoRA only, one calibration seed"
    )
    parser.set_defaults(handler=_real_model)


def _real_model(args: argparse.Namespace) -> int:
    import torch

    from monitor.earlywarning.real_bench import plan, run_real_bench
    from monitor.models.smollm2 import SHIPPED_PACK, fetch_smollm2

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    adapters, seeds, calibration_seeds = args.adapters, args.seeds, args.calibration_seeds
    if args.quick:
        adapters, seeds, calibration_seeds = ["lora-r8"], [0], [10]
    evaluated, calibration = plan(
        adapters,
        seeds,
        calibration_seeds,
        steps=args.steps,
        check_every=args.check_every,
        eval_every=args.eval_every,
    )
    model = args.model or fetch_smollm2().directory
    summary = run_real_bench(model, args.pack or SHIPPED_PACK, args.out, evaluated, calibration)
    for name in ("detection_build_units", "detection_calibrated"):
        shown = {k: v for k, v in summary[name].items() if k != "runs"}
        print(name, json.dumps(shown))
    for arm, row in summary["behaviour"].items():
        rise = row["final_rise"]
        print(
            f"  {arm:<28} final rise {rise['mean']:+.3f} [{rise['low']:+.3f}, {rise['high']:+.3f}]"
            f"  significant at end {row['significant_at_end']}/{len(row['seeds'])}"
        )
    print(f"results: {args.out}/summary.json")
    return 0


def _defaults(args: argparse.Namespace) -> tuple[Path, int]:
    from monitor.earlywarning.pool import default_workers
    from monitor.organism.checkpoint import DEFAULT_PACK

    return args.pack or DEFAULT_PACK, args.workers or default_workers()


def _early_warning(args: argparse.Namespace) -> int:
    from monitor.earlywarning.bench import BenchPlan, run_bench

    pack, workers = _defaults(args)
    plan = BenchPlan.quick() if args.quick else BenchPlan.full()
    summary = run_bench(args.out, plan, pack, workers, calibrate=not args.uncalibrated)
    print(json.dumps({k: summary[k] for k in ("em_all", "controls_all", "verdicts")}, indent=2))
    print(f"checkpoint AUROC {summary['checkpoint_auroc']}; {summary['seconds']} s")
    print(f"results: {args.out}/summary.json, {args.out}/early_warning.png")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from monitor.earlywarning.bench import calibrate_pack

    pack, workers = _defaults(args)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    calibration, _runs = calibrate_pack(
        pack, args.seeds, args.work_dir, workers, datasets=args.datasets
    )
    print(json.dumps(calibration.to_dict(), indent=2))
    return 0
