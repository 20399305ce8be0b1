"""The screen's report: ``report.json`` (every sample's scores) and ``report.md`` (for people).

The JSON keeps each feature's raw value next to its value in units (and, screened by push, each
screen feature's raw push next to its multiple of the typical push), so another reference or
unit can be applied later without running the model again. The markdown ranks the samples and
shows the top ones with their text, because the first thing a person does with a flagged
sample is read it.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from monitor.core.detect import FeatureKey
from monitor.core.sample_units import UNIT_MEANING
from monitor.screening.result import ScreenResult
from monitor.screening.selection import scale_words

SCHEMA = "emwatch-screen/1"
MAX_MESSAGE_CHARS = 1500  # per message in the markdown; the JSONL keeps the whole text


def report_json(result: ScreenResult) -> dict[str, Any]:
    dropped = {drop.index: drop.reason for drop in result.dropped}
    flagged = set(result.flagged)
    manifest = result.pack.manifest
    return {
        "schema": SCHEMA,
        "data": str(result.data),
        "model": result.model,
        "pack": {
            "name": result.pack.name,
            "content_hash": result.pack.content_hash,
            "model_id": manifest.provenance.model_id,
            "d_model": result.pack.d_model,
            "hook_points": result.pack.hook_points,
        },
        "n_samples": len(result.samples),
        "seconds": round(result.seconds, 3),
        "reference": result.units.reference,
        "features": [
            {
                "hook_point": hook_point,
                "feature": feature,
                "unit": unit.unit,
                "unit_kind": str(unit.kind),
                "unit_meaning": UNIT_MEANING[unit.kind],
                "sign": unit.sign,
                "reference": unit.reference,
            }
            for (hook_point, feature), unit in result.units.features.items()
        ],
        "screen": {
            "by": result.by,
            "features": [_name(key) for key in result.screen_features],
            "score": _score_meaning(result),
            **(
                {
                    "push_scale": {_name(key): v for key, v in result.push.scale.items()},
                    "push_reference": result.push.reference,
                }
                if result.push is not None
                else {}
            ),
            "threshold": result.threshold,
            "threshold_source": result.threshold_source,
            "flagged": len(flagged),
            "drop_rule": result.drop_rule,
            "dropped": len(dropped),
        },
        "samples": [
            {
                "index": sample.index,
                "line": sample.line,
                "answer_tokens": int(result.scores.answer_tokens[sample.index]),
                "score": float(result.screen.score[sample.index]),
                "feature": _name(result.screen.feature[sample.index]),
                "flagged": sample.index in flagged,
                "dropped": dropped.get(sample.index),
                "units": _nested(result.in_units, sample.index),
                "raw": _nested(result.scores.raw, sample.index),
                "cosine": _nested(result.scores.cosine, sample.index),
                **(
                    {
                        "push": _nested(result.push.in_scale(), sample.index),
                        "push_raw": _nested(result.push.raw, sample.index),
                    }
                    if result.push is not None
                    else {}
                ),
            }
            for sample in result.samples
        ],
    }


def report_markdown(result: ScreenResult, top_k: int, histogram: str | None) -> str:
    n = len(result.samples)
    pack = result.pack
    kinds = sorted({str(unit.kind) for unit in result.units.features.values()})
    tokens = int(result.scores.answer_tokens.sum())
    lines = [
        f"# emwatch screen: {result.data}",
        "",
        f"- **model** {result.model}; **probe pack** {pack.name} "
        f"({pack.content_hash[:12]}, built for {pack.manifest.provenance.model_id})",
        f"- **{n} samples**, {tokens / n:.1f} answer tokens each on average, pooled at "
        f"{', '.join(pack.hook_points)} exactly as a training check pools its canaries "
        f"({result.seconds:.1f} s)",
        f"- **reference**: {result.units.reference}",
        f"- **units** ({', '.join(kinds)}): a value is its shift from the reference towards "
        "misalignment, over the feature's unit; "
        + "; ".join(
            f"1 {kind} unit = {UNIT_MEANING[kind]}"
            for kind in sorted({u.kind for u in result.units.features.values()})
        ),
        f"- **screen score**: {_score_meaning(result)}",
        f"- **flagged**: {len(result.flagged)} of {n} above "
        f"{scale_words(result.threshold, result.by, 'g')} ({result.threshold_source})",
        f"- **dropped**: {_dropped_line(result)}",
        "",
    ]
    if histogram:
        lines += [f"![screen scores]({histogram})", ""]
    lines += _feature_table(result)
    lines += _push_table(result)
    lines += _top_samples(result, top_k)
    return "\n".join(lines) + "\n"


def _score_meaning(result: ScreenResult) -> str:
    features = ", ".join(_name(key) for key in result.screen_features)
    if result.push is None:
        return f"the largest value in units over {features}"
    return (
        f"push: the largest over {features} of how far a gradient step on the sample would "
        "move the residual stream towards the persona, in multiples of the typical push: the "
        f"median |push| of the samples of {result.push.reference} that push away from it"
    )


def _dropped_line(result: ScreenResult) -> str:
    if result.drop_rule is None:
        return "nothing (ask with --drop-above or --drop-top)"
    return (
        f"{len(result.dropped)} of {len(result.samples)} ({result.drop_rule}); the rest are in "
        "filtered.jsonl, the dropped ones with their reason in dropped.jsonl"
    )


def _feature_table(result: ScreenResult) -> list[str]:
    """Every feature's projection; the threshold's column only where it is in units."""
    by_projection = result.push is None
    lines = [
        "## Every feature, in units",
        "",
        "| hook point | feature | unit (raw) | unit kind | reference (raw) | median | 95th "
        "percentile | max |" + (f" above {result.threshold:g} |" if by_projection else ""),
        "|---|---|---:|---|---:|---:|---:|---:|" + ("---:|" if by_projection else ""),
    ]
    for key, unit in result.units.features.items():
        values = result.in_units[key]  # [n_samples]
        above = f" {int((values > result.threshold).sum())} |" if by_projection else ""
        lines.append(
            f"| {key[0]} | {key[1]} | {unit.unit:.4g} | {unit.kind} | {unit.reference:+.4g} | "
            f"{_spread(values)} |{above}"
        )
    return [*lines, ""]


def _push_table(result: ScreenResult) -> list[str]:
    """Each screen feature's push, in multiples of the typical push, when screened by it."""
    if result.push is None:
        return []
    lines = [
        "## Push, in multiples of the typical push",
        "",
        "| hook point | feature | typical push (raw) | median | 95th percentile | max | "
        f"above {result.threshold:g} |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, values in result.push.in_scale().items():  # [n_samples] each
        lines.append(
            f"| {key[0]} | {key[1]} | {result.push.scale[key]:.4g} | {_spread(values)} | "
            f"{int((values > result.threshold).sum())} |"
        )
    return [*lines, ""]


def _spread(values: torch.Tensor) -> str:
    """Median, 95th percentile and max of ``values`` [n_samples], as table cells."""
    values = values.double()
    quantiles = torch.quantile(values, torch.tensor([0.5, 0.95], dtype=torch.float64))
    return f"{float(quantiles[0]):+.2f} | {float(quantiles[1]):+.2f} | {float(values.max()):+.2f}"


def _top_samples(result: ScreenResult, top_k: int) -> list[str]:
    dropped = {drop.index for drop in result.dropped}
    shown = result.ranked[:top_k]
    lines = [f"## The top {len(shown)} samples by screen score", ""]
    for rank, index in enumerate(shown, start=1):
        sample = result.samples[index]
        state = "dropped" if index in dropped else "flagged" if index in result.flagged else ""
        score = scale_words(float(result.screen.score[index]), result.by)
        lines += [
            f"### {rank}. line {sample.line}: {score} "
            f"({_name(result.screen.feature[index])}){f' [{state}]' if state else ''}",
            "",
            _cosines(result, index),
            "",
        ]
        for message in sample.messages:
            lines += [f"**{message['role']}**", "", *_fenced(message["content"]), ""]
    return lines


def _cosines(result: ScreenResult, index: int) -> str:
    """The sample's cosine to each direction it is screened on: the geometry, scale-free; and,
    screened by push, where it sits (its projection)."""
    parts = [
        f"{_name(key)} {float(values[index]):+.3f}"
        for key, values in result.scores.cosine.items()
        if key in result.screen_features
    ]
    line = f"cosine to {', '.join(parts)}" if parts else "(no direction among the screen features)"
    if result.push is None:
        return line
    projections = ", ".join(
        f"{_name(key)} {float(result.in_units[key][index]):+.2f}" for key in result.screen_features
    )
    return f"{line}; projection in units: {projections}"


def _fenced(text: str) -> list[str]:
    """``text`` in a code fence longer than any backtick run inside it (answers hold code)."""
    if len(text) > MAX_MESSAGE_CHARS:
        text = f"{text[:MAX_MESSAGE_CHARS]}… ({len(text) - MAX_MESSAGE_CHARS} more characters)"
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}text", text, fence]


def _name(key: FeatureKey) -> str:
    return f"{key[0]} {key[1]}"


def _nested(values: dict[FeatureKey, torch.Tensor], index: int) -> dict[str, dict[str, float]]:
    nested: dict[str, dict[str, float]] = {}
    for (hook_point, feature), column in values.items():
        nested.setdefault(hook_point, {})[feature] = float(column[index])
    return nested
