"""The screen's picture: how the samples' scores spread, against the pack's unit.

A healthy dataset is one hump around 0 (the reference); data that drives the persona shows as
a tail or a second hump to the right. The line at 1 is the scale's unit (by projection the
pack's unit: for a calibrated pack, as far as a healthy fine-tune moved the canaries; by push a
typical sample's push), the other the flagging threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.core.sample_units import UNIT_MEANING
from monitor.screening.result import ScreenResult
from monitor.screening.selection import scale_words


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_histogram(result: ScreenResult, path: Path) -> Path:
    plt = _pyplot()
    scores = result.screen.score.tolist()
    dropped = {drop.index for drop in result.dropped}
    kept = [s for i, s in enumerate(scores) if i not in dropped]
    removed = [s for i, s in enumerate(scores) if i in dropped]
    figure, axis = plt.subplots(figsize=(8, 4.2))
    bins = min(80, max(10, len(scores) // 10))
    axis.hist(
        [kept, removed] if removed else [kept],
        bins=bins,
        stacked=True,
        color=["tab:blue", "tab:red"][: 2 if removed else 1],
        label=["kept", "dropped"] if removed else ["samples"],
    )
    axis.axvline(0, color="grey", linewidth=1)
    one = "1 unit (the pack's)" if result.push is None else "1x (the typical push)"
    axis.axvline(1, color="tab:green", linestyle="--", linewidth=1.2, label=one)
    axis.axvline(
        result.threshold,
        color="tab:orange",
        linestyle=":",
        linewidth=1.5,
        label=f"threshold {scale_words(result.threshold, result.by, 'g')}",
    )
    if result.push is None:
        kinds = sorted({unit.kind for unit in result.units.features.values()})
        meaning = f"shift from the reference, in units (1 unit = {UNIT_MEANING[kinds[0]]})"
    else:
        meaning = "push, in multiples of the typical push (the reference's pushing away)"
    axis.set_xlabel(f"screen score: {meaning}", fontsize=7)
    axis.set_ylabel("samples")
    features = ", ".join(f"{h} {f}" for h, f in result.screen_features)
    axis.set_title(f"{result.data.name}: {len(scores)} samples, {features}", fontsize=8)
    axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
