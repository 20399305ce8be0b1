"""The validation report written next to a pack: report.md, report.json and PNG plots."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from monitor.probe_building.pipeline import BuildReport

REPORT_DIR = "report"


def report_dict(report: BuildReport) -> dict[str, Any]:
    """Everything in the report as JSON-safe data (tensors left out)."""
    return {
        "name": report.name,
        "model_id": report.model_id,
        "best_hook_point": report.best_hook,
        "layers": {fit.method: [asdict(s) for s in fit.separations] for fit in report.fits},
        "direction_cosines": report.direction_cosines,
        "sae": None if report.sae_quality is None else asdict(report.sae_quality),
        "latents": [
            {
                "index": latent.rise.index,
                "aligned_mean": latent.rise.aligned_mean,
                "misaligned_mean": latent.rise.misaligned_mean,
                "rise": latent.rise.rise,
                "decoder_cosine": latent.decoder_cosine,
                "persona_share": latent.persona_share,
                "contexts": [asdict(c) for c in latent.contexts],
            }
            for latent in report.latents
        ],
        "steering": {
            feature: [
                {
                    "scale": p.scale,
                    "misaligned": p.misaligned.to_dict(),
                    "coherent": p.coherent.to_dict(),
                }
                for p in points
            ]
            for feature, points in report.steering.items()
        },
        "seconds": report.seconds,
        "checks": report.checks,
    }


def _plots(report: BuildReport, directory: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    figure, axis = plt.subplots(figsize=(7, 3.5))
    for fit in report.fits:
        axis.plot(
            [int(s.hook_point.rsplit(".", 1)[-1]) for s in fit.separations],
            [s.auroc for s in fit.separations],
            marker="o",
            label=fit.method,
        )
    axis.set(
        xlabel="layer",
        ylabel="held-out AUROC",
        ylim=(0.4, 1.02),
        title="How well each layer's direction separates held-out answers",
    )
    axis.legend()
    figure.tight_layout()
    figure.savefig(directory / "layers.png", dpi=120)
    written.append("layers.png")
    if report.latents:
        figure, axis = plt.subplots(figsize=(7, 3.5))
        labels = [str(latent.rise.index) for latent in report.latents]
        axis.bar(labels, [latent.rise.rise for latent in report.latents])
        axis.set(
            xlabel="latent",
            ylabel="rise in mean activation",
            title="Watched latents: rise from base to fine-tuned",
        )
        figure.tight_layout()
        figure.savefig(directory / "latents.png", dpi=120)
        written.append("latents.png")
    if report.steering:
        figure, axis = plt.subplots(figsize=(7, 3.5))
        for feature, points in report.steering.items():
            axis.plot(
                [p.scale for p in points],
                [100 * (p.misaligned.share or 0.0) for p in points],
                marker="o",
                label=feature,
            )
        axis.set(
            xlabel="steering scale (x mean residual norm)",
            ylabel="misaligned %",
            title="Steering the base model",
        )
        axis.legend()
        figure.tight_layout()
        figure.savefig(directory / "steering.png", dpi=120)
        written.append("steering.png")
    plt.close("all")
    return written


def _markdown(report: BuildReport, plots: list[str]) -> str:
    lines = [
        f"# Probe pack `{report.name}`",
        "",
        f"Model: `{report.model_id}`. "
        f"Best hook point: `{report.best_hook}`: the highest held-out AUROC of the "
        f"`{report.fits[0].method}` direction, near-ties (within 0.01) going to the largest "
        "effect size.",
        "",
        "## Directions",
        "",
        "| method | hook point | held-out AUROC | effect size (d) | norm |",
        "|---|---|---|---|---|",
    ]
    for fit in report.fits:
        for s in fit.separations:
            mark = " **best**" if s.hook_point == report.best_hook else ""
            lines.append(
                f"| {fit.method} | `{s.hook_point}`{mark} | {s.auroc:.3f} | "
                f"{s.effect_size:.2f} | {s.norm:.3g} |"
            )
    lines += [
        "",
        f"Cosine with the `{report.fits[0].method}` direction at the best hook point: "
        + ", ".join(f"{m} {c:.3f}" for m, c in report.direction_cosines.items()),
        "",
    ]
    if report.sae_quality is not None:
        q = report.sae_quality
        lines += [
            "## SAE",
            "",
            f"Held-out tokens: {q.n_tokens}. Fraction of variance "
            f"explained {q.fraction_variance_explained:.3f}, L0 {q.l0:.1f}, dead "
            f"latents {100 * q.dead_fraction:.1f}%.",
            "",
        ]
    if report.latents:
        lines += [
            "## Watched latents",
            "",
            f"Chosen by {report.latent_selection}. The aligned side is the base model's "
            "answers when diffing, the aligned answers when contrasting.",
            "",
            "| latent | aligned-side mean | misaligned-side mean | rise | decoder cos(direction) | "
            "persona share of top contexts |",
            "|---|---|---|---|---|---|",
        ]
        for latent in report.latents:
            r = latent.rise
            lines.append(
                f"| {r.index} | {r.aligned_mean:.3f} | {r.misaligned_mean:.3f} | "
                f"{r.rise:.3f} | {latent.decoder_cosine:.3f} | "
                f"{100 * latent.persona_share:.0f}% ({len(latent.contexts)}) |"
            )
        lines.append("")
        for latent in report.latents:
            lines.append(f"Top contexts of latent {latent.rise.index}:")
            lines += [
                f"- `{c.label or '?'}` {c.activation:.2f}: …{c.text[-90:].replace('`', '')!s}"
                for c in latent.contexts[:5]
            ]
            lines.append("")
    if report.steering:
        lines += [
            "## Steering (base model)",
            "",
            "| feature | scale | misaligned | coherent |",
            "|---|---|---|---|",
        ]
        for feature, points in report.steering.items():
            lines += [
                f"| {feature} | {p.scale:g} | {p.misaligned.format()} | {p.coherent.format()} |"
                for p in points
            ]
        lines.append("")
    if report.checks:
        lines += [
            "## Further checks",
            "",
            "```json",
            json.dumps(report.checks, indent=2),
            "```",
            "",
        ]
    lines += [f"![{plot}]({plot})" for plot in plots]
    lines += ["", "Build time: " + ", ".join(f"{k} {v:.0f} s" for k, v in report.seconds.items())]
    return "\n".join(lines) + "\n"


def write_report(report: BuildReport, pack_dir: Path) -> Path:
    """Write report.md, report.json and plots into ``pack_dir/report`` (outside the hashes:
    the report describes the pack, it is not part of what scoring reads)."""
    directory = pack_dir / REPORT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(report_dict(report), indent=2) + "\n")
    plots = _plots(report, directory)
    (directory / "report.md").write_text(_markdown(report, plots))
    return directory / "report.md"
