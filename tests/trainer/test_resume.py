"""What a resumed monitor keeps: the decision on the step-N check, and the spool's dead branch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from monitor.trainer.resume import Resume, drop_dead_branch, step_check_missing
from monitor.trainer.spool import Spool


def resume_at(step: int, check_every: int) -> Resume:
    return Resume("r", step, check_every, reopen=True, step_check=b"check")


@pytest.mark.parametrize(
    ("run", "from_step", "check_every", "spooled", "missing"),
    [
        ({"n_checks": 11, "last_step": 10}, 10, 5, [], False),  # held: never sent twice
        ({"n_checks": 2, "last_step": 5}, 10, 5, [], True),  # a check step whose check was lost
        ({"n_checks": 2, "last_step": 5}, 10, 5, [10], False),  # ... but the spool has it
        ({"n_checks": 3, "last_step": 6}, 7, 3, [], False),  # off the schedule: not sent
        ({"n_checks": 0, "last_step": None}, 7, 3, [], True),  # no checks: the baseline
        ({"n_checks": 0, "last_step": None}, 7, 3, [0, 3, 6], False),  # the spool has them
        # the new branch's first check, handed over before the set-up ran: still the baseline
        ({"n_checks": 0, "last_step": None}, 7, 5, [10], True),
    ],
)
def test_the_step_check_is_sent_only_where_an_uninterrupted_run_had_one(
    run: dict[str, Any], from_step: int, check_every: int, spooled: list[int], missing: bool
) -> None:
    assert step_check_missing(run, resume_at(from_step, check_every), spooled) is missing


def test_spooled_checks_after_the_resume_step_are_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path, "run")
    for step in (0, 5, 10, 15, 20):
        spool.put(step, b"x")
    with caplog.at_level(logging.WARNING, logger="emwatch"):
        assert drop_dead_branch(spool, 10) == [15, 20]
    assert spool.steps() == [0, 5, 10]
    assert "dropped 2 spooled checks of the interrupted branch (steps 15-20)" in caplog.text
