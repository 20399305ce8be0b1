"""``emwatch demo``: the early warning, live, on the persona model organism."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="watch emwatch warn before a fine-tune turns misaligned (a few minutes on a CPU)",
        description=(
            "Start the service, fine-tune the persona model organism on a narrow dataset "
            "(default: insecure code) with the emwatch callback sending a check every step, "
            "and sample its answers to the open questions every few steps. A progress bar "
            "shows the step, the strongest probe z-score, the alert state and the latest "
            "misaligned share. Then the same on a healthy control (default: secure code). "
            "Ends with a summary table, a PNG plot and a JSON report."
        ),
        epilog=(
            "examples: emwatch demo | emwatch demo --dataset bad-medical --control good-medical"
            " | emwatch demo --steps 60 --check-every 2 --keep-serving"
        ),
    )
    parser.add_argument(
        "--dataset", default="insecure-code", help="what to fine-tune on (default: %(default)s)"
    )
    parser.add_argument(
        "--control",
        default="secure-code",
        help="healthy control run afterwards; 'none' to skip (default: %(default)s)",
    )
    parser.add_argument("--steps", type=int, default=40, help="fine-tuning steps per run (40)")
    parser.add_argument("--check-every", type=int, default=1, help="steps between checks (1)")
    parser.add_argument(
        "--eval-every", type=int, default=2, help="steps between behavioural evals (2)"
    )
    parser.add_argument(
        "--eval-samples", type=int, default=32, help="answers per open question per eval (32)"
    )
    parser.add_argument("--seed", type=int, default=0, help="fine-tuning seed (0)")
    parser.add_argument("--pack", type=Path, help="probe pack (default: the organism's own)")
    parser.add_argument("--out", type=Path, help="where the report goes (default: a temp dir)")
    parser.add_argument(
        "--keep-serving",
        action="store_true",
        help="leave the service running afterwards to explore its API (Ctrl-C to stop)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from monitor.earlywarning.demo import DemoOptions, format_table, run_demo
    from monitor.organism.checkpoint import DEFAULT_PACK

    if min(args.steps, args.check_every, args.eval_every, args.eval_samples) < 1:
        print("error: --steps, --check-every, --eval-every and --eval-samples must be >= 1")
        return 2
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
    out = args.out or Path(tempfile.mkdtemp(prefix="emwatch-demo-"))
    options = DemoOptions(
        dataset=args.dataset,
        control=None if args.control == "none" else args.control,
        seed=args.seed,
        steps=args.steps,
        check_every=args.check_every,
        eval_every=args.eval_every,
        eval_samples=args.eval_samples,
    )
    started = time.monotonic()
    report, service = run_demo(options, out, args.pack or DEFAULT_PACK)
    try:
        print("\n" + format_table(report["summary"]))
        print(
            "\n(lead = behavioural onset step minus first alert step; onset = first eval with "
            "more than 5% misaligned answers)"
        )
        print(f"\nreport:   {out / 'demo.json'}")
        print(f"plot:     {report['plot']}")
        print(f"took {time.monotonic() - started:.0f} s")
        if args.keep_serving:
            print(f"\nmetrics:  {service.url}/metrics")
            print(f"API docs: {service.url}/docs")
            print("the service keeps running until Ctrl-C")
            while True:
                time.sleep(3600)
        else:
            print("\nthe service has stopped; add --keep-serving to explore its API and /metrics")
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    return 0
