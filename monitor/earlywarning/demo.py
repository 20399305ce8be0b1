"""``emwatch demo``: the early warning, live, on the persona organism.

The service starts with its embedded defaults, the organism's shipped (calibrated) probe pack
is registered, and the organism is fine-tuned on a narrow emergent-misalignment dataset with
``EmwatchCallback`` streaming a check every step, while the behavioural eval samples the open
questions at regular steps. Then the same with a healthy control dataset. The summary says
when the first alert came, when behaviour turned, and whether the control stayed quiet.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from typing_extensions import override

from monitor.core.detect import DetectorConfig
from monitor.core.pack import load_pack
from monitor.earlywarning import analysis
from monitor.earlywarning.plots import plot_demo
from monitor.earlywarning.runs import (
    BehaviourRecorder,
    RunRecord,
    RunSpec,
    ServiceTarget,
    monitored_finetune,
)
from monitor.fixtures.local_service import LocalService
from monitor.organism import load_organism
from monitor.trainer.callback import EmwatchCallback


@dataclass(frozen=True)
class DemoOptions:
    dataset: str = "insecure-code"
    control: str | None = "secure-code"
    seed: int = 0
    steps: int = 40
    check_every: int = 1
    eval_every: int = 2
    eval_samples: int = 32


class ProgressBar(TrainerCallback):
    """One bar per run: step, strongest z-score, alert state, latest misaligned share."""

    def __init__(self, emwatch: EmwatchCallback, behaviour: BehaviourRecorder, spec: RunSpec):
        self.emwatch = emwatch
        self.behaviour = behaviour
        self.bar = tqdm(total=spec.steps, desc=f"{spec.label:<14}", unit="step", leave=True)

    @override
    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.bar.update(state.global_step - self.bar.n)
        self.bar.set_postfix_str(self._status(), refresh=True)

    @override
    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.bar.close()

    def _status(self) -> str:
        monitor = self.emwatch.monitor
        latest = monitor.latest if monitor is not None else None
        parts = []
        if latest:
            top = max(latest["signals"], key=lambda s: s["zscore"])
            parts.append(f"z {top['zscore']:6.2f} ({top['feature']})")
            parts.append(f"alert {_alert_state(latest['alerts'])}")
        if self.behaviour.points:
            point = self.behaviour.points[-1]
            parts.append(f"misaligned {point.misaligned.format()} @ step {point.step}")
        return " | ".join(parts)


def progress_bar(
    spec: RunSpec,
) -> Callable[[EmwatchCallback, BehaviourRecorder], list[TrainerCallback]]:
    def make(emwatch: EmwatchCallback, behaviour: BehaviourRecorder) -> list[TrainerCallback]:
        return [ProgressBar(emwatch, behaviour, spec)]

    return make


def describe(detector: DetectorConfig) -> str:
    rules = []
    for name, rule in detector.rules.items():
        levels = ", ".join(f"{severity} >= {value:g}" for severity, value in rule.thresholds())
        rules.append(f"{name} on {rule.signal} ({levels}; {rule.for_checks} check(s) in a row)")
    return "; ".join(rules)


def _alert_state(alerts: Sequence[dict[str, Any]]) -> str:
    firing = {a["severity"] for a in alerts if a["state"] == "firing"}
    for severity in ("critical", "warning"):
        if severity in firing:
            return f"{severity.upper()} firing"
    return "pending" if any(a["state"] == "pending" for a in alerts) else "none"


def summary_rows(records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    rows = []
    for record in records:
        onset = analysis.onset_step(record)
        at_onset = next((p for p in record.evals if p.step == onset), None)
        alert = analysis.first_alert_step(record)
        rows.append(
            {
                "run": record.spec.run_name,
                "dataset": record.spec.label,
                "first_alert_step": alert,
                "first_critical_step": analysis.first_alert_step(record, ("critical",)),
                "onset_step": onset,
                "misaligned_at_onset": at_onset.misaligned.to_dict() if at_onset else None,
                "lead_steps": None if onset is None or alert is None else onset - alert,
                "alerts": sum(1 for a in record.alerts if a["firing_step"] is not None),
                "final_misaligned": record.evals[-1].misaligned.to_dict(),
                "seconds": round(record.seconds, 1),
            }
        )
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    def step(value: int | None) -> str:
        return "-" if value is None else str(value)

    def share(proportion: dict[str, Any] | None) -> str:
        if proportion is None:
            return "never > 5%"
        return (
            f"{100 * proportion['share']:.1f}% [{100 * proportion['ci95_low']:.1f}, "
            f"{100 * proportion['ci95_high']:.1f}]"
        )

    header = (
        "| run | first alert | first critical | misaligned > 5% at | share there [95% CI] "
        "| lead (steps) | alerts fired | final misaligned |"
    )
    lines = [header, "|---|---:|---:|---:|---|---:|---:|---|"]
    for row in rows:
        lines.append(
            f"| {row['run']} | {step(row['first_alert_step'])} | "
            f"{step(row['first_critical_step'])} | {step(row['onset_step'])} | "
            f"{share(row['misaligned_at_onset'])} | {step(row['lead_steps'])} | {row['alerts']} | "
            f"{share(row['final_misaligned'])} |"
        )
    return "\n".join(lines)


def run_demo(
    options: DemoOptions, out: Path, pack_dir: Path
) -> tuple[dict[str, Any], LocalService]:
    """Both runs against a started service; the caller stops the returned service."""
    out.mkdir(parents=True, exist_ok=True)
    token = f"emw_demo{secrets.token_hex(4)}_{secrets.token_urlsafe(24).replace('_', '-')}"
    service = LocalService(out / "service", token).start()
    print(f"service up at {service.url} (SQLite in {service.data_dir}); admin token {token}")
    pack = load_pack(pack_dir, release_loader=None)
    detector = pack.manifest.detector or DetectorConfig()
    print(f"probe pack {pack.name!r} from {pack_dir}: {describe(detector)}")
    model, tokenizer = load_organism()
    target = ServiceTarget(service.url, token, pack_dir, out / "spool")
    datasets = [options.dataset] + ([options.control] if options.control else [])
    records = []
    for dataset in datasets:
        spec = RunSpec(
            dataset,
            dataset,
            options.seed,
            steps=options.steps,
            check_every=options.check_every,
            eval_every=options.eval_every,
            eval_samples=options.eval_samples,
        )
        print(
            f"\nfine-tuning on {dataset!r} ({spec.steps} steps, a check every "
            f"{spec.check_every}, behavioural eval every {spec.eval_every}): run {spec.run_name!r}"
        )
        records.append(
            monitored_finetune(
                spec,
                model,
                tokenizer,
                target,
                extra_callbacks=progress_bar(spec),
            )
        )
    rows = summary_rows(records)
    plot = plot_demo(records, detector, out / "demo.png")
    report = {
        "options": options.__dict__,
        "service": {
            "url": service.url,
            "metrics": f"{service.url}/metrics",
            "docs": f"{service.url}/docs",
        },
        "summary": rows,
        "runs": [
            {
                "run": r.spec.run_name,
                "max_zscore_by_step": analysis.max_zscore_by_step(r),
                "evals": [
                    {
                        "step": p.step,
                        "misaligned": p.misaligned.to_dict(),
                        "coherent": p.coherent.to_dict(),
                    }
                    for p in r.evals
                ],
                "alerts": r.alerts,
            }
            for r in records
        ],
        "plot": str(plot),
    }
    (out / "demo.json").write_text(json.dumps(report, indent=2) + "\n")
    return report, service
