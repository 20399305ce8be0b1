"""The demo's and the benchmark's pictures: probe score and behaviour against step."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.core.detect import DetectorConfig
from monitor.earlywarning import analysis
from monitor.earlywarning.runs import RunRecord


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _thresholds(axis: Any, detector: DetectorConfig) -> None:
    rule = detector.rules.get("persistence")
    if rule is None:
        return
    for severity, value in rule.thresholds():
        axis.axhline(
            value, linestyle="--", linewidth=1, color="orange" if severity == "warning" else "red"
        )
        axis.annotate(f"{severity} z={value:g}", (0, value), fontsize=7, va="bottom")


def _score_and_share(axes: Sequence[Any], record: RunRecord, colour: str, label: str) -> None:
    by_step = sorted(analysis.max_zscore_by_step(record).items())
    axes[0].plot(
        [s for s, _ in by_step], [z for _, z in by_step], color=colour, label=label, linewidth=1.2
    )
    steps = [p.step for p in record.evals]
    shares = [100 * (p.misaligned.share or 0.0) for p in record.evals]
    low = [100 * p.misaligned.ci95[0] for p in record.evals]
    high = [100 * p.misaligned.ci95[1] for p in record.evals]
    axes[1].plot(steps, shares, color=colour, label=label, linewidth=1.2)
    axes[1].fill_between(steps, low, high, color=colour, alpha=0.15)
    alert = analysis.first_alert_step(record)
    if alert is not None:
        for axis in axes:
            axis.axvline(alert, color=colour, linestyle=":", linewidth=1)


def plot_demo(records: Sequence[RunRecord], detector: DetectorConfig, path: Path) -> Path:
    """Both demo runs: strongest z-score and misaligned share against step."""
    plt = _pyplot()
    figure, axes = plt.subplots(2, 1, figsize=(8, 6.5), sharex=True)
    for record, colour in zip(records, ("tab:red", "tab:blue", "tab:green"), strict=False):
        _score_and_share(axes, record, colour, record.spec.label)
    _thresholds(axes[0], detector)
    axes[0].set_ylabel("strongest z-score (calibrated units)")
    axes[0].set_yscale("symlog", linthresh=10)
    axes[0].set_title("probe score; dotted line: first alert")
    axes[1].axhline(100 * analysis.ONSET_SHARE, color="grey", linestyle="--", linewidth=1)
    axes[1].set_ylabel("misaligned share, open questions (%)")
    axes[1].set_xlabel("fine-tuning step")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_bench(
    records: Sequence[RunRecord], calibration: Any, summary: dict[str, Any], path: Path
) -> Path:
    """Four panels: scores and behaviour of every run, lead times, and the mixtures."""
    em_datasets, control_datasets = list(summary["em"]), list(summary["controls"])
    plt = _pyplot()
    figure, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    colours = {
        **dict.fromkeys(em_datasets, "tab:red"),
        **dict.fromkeys(control_datasets, "tab:blue"),
    }
    for record in records:
        colour = colours.get(record.spec.label, "tab:grey")
        by_step = sorted(analysis.max_zscore_by_step(record).items())
        axes[0][0].plot(
            [s for s, _ in by_step], [z for _, z in by_step], color=colour, alpha=0.5, linewidth=0.8
        )
        axes[0][1].plot(
            [p.step for p in record.evals],
            [100 * (p.misaligned.share or 0.0) for p in record.evals],
            color=colour,
            alpha=0.5,
            linewidth=0.8,
        )
    _thresholds(axes[0][0], calibration.detector)
    axes[0][0].set_yscale("symlog", linthresh=10)
    axes[0][0].set_title("strongest z-score (red: EM runs, blue: controls, grey: mixtures)")
    axes[0][0].set_xlabel("step")
    axes[0][1].axhline(100 * analysis.ONSET_SHARE, color="grey", linestyle="--", linewidth=1)
    axes[0][1].set_title("misaligned share on open questions (%)")
    axes[0][1].set_xlabel("step")
    em = summary["em_all"]
    rows = [r for d in em_datasets for r in summary["em"][d]["runs"]]
    leads = {
        "probe alert": [r["lead_steps"] for r in rows if r["lead_steps"] is not None],
        "small eval": [
            r["small_eval_lead_steps"] for r in rows if r["small_eval_lead_steps"] is not None
        ],
        "log-prob": [r["logprob_lead_steps"] for r in rows if r["logprob_lead_steps"] is not None],
    }
    axes[1][0].boxplot(list(leads.values()), tick_labels=list(leads))
    axes[1][0].axhline(0, color="grey", linewidth=1)
    axes[1][0].set_title(
        f"lead over behavioural onset (steps); alert first in {em['alert_before_onset']}"
        f"/{em['runs_with_onset']} EM runs"
    )
    mixtures = summary["mixtures"]
    fractions = [100 * m["fraction_insecure"] for m in mixtures]
    axes[1][1].plot(
        fractions,
        [m["mean_peak_zscore"] for m in mixtures],
        "o-",
        color="tab:purple",
        label="mean peak z",
    )
    axes[1][1].set_ylim(bottom=0)
    axes[1][1].set_xlabel("insecure code in secure code (%)")
    axes[1][1].set_ylabel("mean peak z-score")
    twin = axes[1][1].twinx()
    for key, style, color, label in (
        ("mean_peak_misaligned", "s--", "tab:red", "peak misaligned %"),
        ("alert_rate", "^:", "tab:orange", "alert rate %"),
    ):
        twin.plot(fractions, [100 * m[key] for m in mixtures], style, color=color, label=label)
    twin.set_ylabel("%")
    twin.set_ylim(0, 105)
    lines = axes[1][1].get_lines() + twin.get_lines()
    twin.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="center right")
    axes[1][1].set_title("mixtures")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
