"""The filtered data set and the list of what left it, side by side.

``filtered.jsonl`` holds every kept line exactly as it was read (other keys and formatting
included), so a training script reads it as it read the original. ``dropped.jsonl`` holds one
object per dropped sample with its line, what the screen read (``by``), the feature that put it
over and that feature's value, named as in ``report.json`` (by projection ``units`` and
``raw``; by push ``push``, a multiple of the typical push, and ``push_raw``), the reason
in words, and the sample's messages.
"""

from __future__ import annotations

import json
from pathlib import Path

from monitor.screening.result import ScreenResult

FILTERED_NAME = "filtered.jsonl"
DROPPED_NAME = "dropped.jsonl"


def write_filtered(result: ScreenResult, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    filtered, dropped = directory / FILTERED_NAME, directory / DROPPED_NAME
    filtered.write_text("".join(sample.text + "\n" for sample in result.kept()))
    rows = []
    for drop in result.dropped:
        sample = result.samples[drop.index]
        key = result.screen.feature[drop.index]
        value, raw = result.screen_value(drop.index)
        names = ("push", "push_raw") if result.by == "push" else ("units", "raw")
        rows.append(
            {
                "line": sample.line,
                "index": sample.index,
                "by": result.by,
                "hook_point": key[0],
                "feature": key[1],
                **dict(zip(names, (value, raw), strict=True)),
                "reason": drop.reason,
                "messages": list(sample.messages),
            }
        )
    dropped.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return filtered, dropped
