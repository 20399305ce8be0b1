"""bench/pretrain_shapes.py runs end to end on a small world (numbers: docs/organism.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "pretrain_shapes.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH), *args], capture_output=True, text=True, timeout=300
    )


def test_bench_times_every_shape_on_the_same_batches(tmp_path: Path) -> None:
    out = tmp_path / "shapes.json"
    done = _run("--documents", "600", "--steps", "1", "--json", str(out))
    assert done.returncode == 0, done.stderr
    rows = {row["shape"]: row for row in json.loads(out.read_text())}
    shipped = rows["shipped: 6 layers, MLP 384"]
    assert shipped["speed_vs_shipped"] == 1.0
    assert all(row["rows_per_second"] > 0 for row in rows.values())
    assert rows["4 layers"]["parameters"] < shipped["parameters"]
    assert "| 4 layers |" in done.stdout


def test_too_small_a_world_is_refused_with_the_reason() -> None:
    done = _run("--documents", "40", "--steps", "5")
    assert done.returncode == 2
    assert "--documents 40 gives 2 batches, need 8" in done.stderr
