"""``emwatch demo``: the whole loop, live, on a CPU.

Until the persona model organism lands this runs on a tiny random Llama (see
``monitor.tiny_demo``): it shows the plumbing end to end, and says so.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from monitor.detect import Severity

if TYPE_CHECKING:
    from transformers import TrainerControl, TrainerState, TrainingArguments


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the end-to-end loop on a CPU in about a minute",
        description=(
            "Start the service, build a probe pack, fine-tune a small model with the emwatch "
            "callback streaming checks, and watch the alert fire and stop training. Uses a "
            "tiny random Llama until the persona model organism is available."
        ),
        epilog="example: emwatch demo --steps 150 --check-every 5 --keep-serving",
    )
    parser.add_argument("--steps", type=int, default=150, help="max fine-tuning steps")
    parser.add_argument("--check-every", type=int, default=5, help="steps between checks")
    parser.add_argument("--out", type=Path, help="working directory (default: a temp dir)")
    parser.add_argument(
        "--keep-serving",
        action="store_true",
        help="leave the service running afterwards (Ctrl-C to stop)",
    )
    parser.set_defaults(handler=run)


def _progress_callback(emwatch: Any) -> Any:
    """One line per check: step, strongest z-score, alert state."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def __init__(self) -> None:
            self.seen: int | None = None

        @override
        def on_step_end(
            self,
            args: TrainingArguments,
            state: TrainerState,
            control: TrainerControl,
            **kwargs: Any,
        ) -> None:
            monitor = emwatch.monitor
            latest = monitor.latest if monitor else None
            if not latest or latest["step"] == self.seen:
                return
            self.seen = latest["step"]
            top = max(latest["signals"], key=lambda s: s["zscore"])
            states = sorted({f"{a['severity']}:{a['state']}" for a in latest["alerts"]})
            print(
                f"  step {latest['step']:>4}  max z {top['zscore']:6.2f} "
                f"({top['hook_point']} {top['feature']})  alerts: {', '.join(states) or 'none'}",
                flush=True,
            )

    return Progress()


def run(args: argparse.Namespace) -> int:
    from monitor.callbacks import EmwatchCallback
    from monitor.local_service import LocalService
    from monitor.tiny import build_tiny_llama
    from monitor.tiny_demo import build_diffing_pack, make_trainer
    from monitor.training_monitor import MonitorConfig

    out = args.out or Path(tempfile.mkdtemp(prefix="emwatch-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    print(
        "emwatch demo - NOTE: runs on a tiny random Llama stand-in (the persona model "
        "organism replaces it); it proves the plumbing, not the science.\n"
    )
    token = f"emw_demo{secrets.token_hex(4)}_{secrets.token_urlsafe(24).replace('_', '-')}"
    service = LocalService(out / "service", token).start()
    try:
        print(f"1. service up at {service.url} (SQLite in {service.data_dir})")
        pack = build_diffing_pack(out / "pack", out / "pilot")
        print(
            f"2. probe pack {pack.name!r}: directions at {', '.join(pack.hook_points)} from a "
            "pilot fine-tune (model diffing), plus a planted SAE latent"
        )
        model, tokenizer = build_tiny_llama(seed=0)
        run_name = f"demo-{int(time.time())}"
        emwatch = EmwatchCallback(
            MonitorConfig(
                url=service.url,
                token=token,
                run=run_name,
                probe_pack=pack.directory,
                check_every=args.check_every,
                stop_on=Severity.CRITICAL,
                spool_dir=out / "spool",
                model_id="emwatch/tiny-llama",
                retry_interval=0.5,
            )
        )
        print(
            f"3. fine-tuning on the narrow task, run {run_name!r}, a check every "
            f"{args.check_every} steps, stop on a critical alert"
        )
        trainer = make_trainer(
            model,
            tokenizer,
            out / "train",
            max_steps=args.steps,
            callbacks=[emwatch, _progress_callback(emwatch)],
        )
        trainer.train()
        monitor = emwatch.monitor
        assert monitor is not None
        notice = monitor.stop_notice
        print("\nsummary")
        if notice is not None:
            print(
                f"  {notice.severity} alert on {notice.hook_point} {notice.feature} "
                f"({notice.rule}) at step {notice.step}; training stopped at step "
                f"{trainer.state.global_step} of {args.steps}"
            )
        else:
            print(f"  no critical alert in {trainer.state.global_step} steps")
        print(f"  checks sent: {len(monitor.checks_sent)}")
        print(f"  alerts:   emwatch alerts {run_name} --url {service.url} --token {token}")
        print(f"  metrics:  {service.url}/metrics")
        print(f"  API docs: {service.url}/docs")
        if args.keep_serving:
            print("\nservice keeps running; Ctrl-C to stop")
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
    return 0
