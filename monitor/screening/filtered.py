"""The filtered data set and the list of what left it, side by side.

``filtered.jsonl`` holds every kept line exactly as it was read (other keys and formatting
included), so a training script reads it as it read the original. ``dropped.jsonl`` holds one
object per dropped sample with its line, the feature that put it over and that feature's value
in units and raw, the reason in words, and the sample's messages.
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
        rows.append(
            {
                "line": sample.line,
                "index": sample.index,
                "hook_point": key[0],
                "feature": key[1],
                "units": float(result.in_units[key][drop.index]),
                "raw": float(result.scores.raw[key][drop.index]),
                "reason": drop.reason,
                "messages": list(sample.messages),
            }
        )
    dropped.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return filtered, dropped
