from __future__ import annotations

from pathlib import Path

import pytest

from monitor.trainer.spool import Spool


def test_put_read_remove_in_step_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "run-a")
    for step in (20, 0, 10):
        spool.put(step, f"body-{step}".encode())
    assert spool.steps() == [0, 10, 20]
    assert spool.read(10) == b"body-10"
    spool.remove(10)
    assert spool.steps() == [0, 20] and len(spool) == 2
    assert not list(spool.directory.glob(".*.tmp"))  # atomic writes leave no temp files


def test_bounded_by_count_keeps_baseline_and_newest(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "run-b", max_checks=3)
    for step in range(0, 60, 10):
        spool.put(step, b"x")
    assert spool.steps() == [0, 40, 50]


def test_bounded_by_bytes(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "run-c", max_bytes=250)
    for step in range(5):
        spool.put(step, b"y" * 100)
    assert spool.steps() == [0, 4]


def test_spool_directory_name_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="invalid run name"):
        Spool(tmp_path, "../escape")
