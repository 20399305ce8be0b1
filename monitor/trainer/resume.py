"""Continuing a run from a checkpoint: what the service and the spool set aside, and the one
check that may be missing.

A trainer resumed from step N (``trainer.train(resume_from_checkpoint=...)``, or
``TrainingMonitor.start(model, step=N)`` in a plain loop) trains on from the weights it had at
step N. The checks the interrupted run took after N describe weights that no longer exist, a
dead branch. Before anything is sent the service supersedes them (``POST /v1/runs/{run}/resume``:
kept for audit, left out of scores, alerts and metrics, and the detector rebuilt from what
survives), so the new branch's checks at those steps are stored instead of refused with a 409;
checks of the dead branch still in the local spool are dropped rather than replayed.

The check at step N itself. The restored weights are those the interrupted run had at N, so a
check there tells nothing new. If the service or the spool already holds one, it stays and
nothing is sent: a capture on restored weights can differ in the last bits (other kernels, a
dtype round trip through the checkpoint) and would then be a conflicting second version of the
same step. The monitor sends its own step-N check only where it fills a gap that an
uninterrupted run would not have: N is a check step (``N % check_every == 0``) whose check never
arrived, or the run has no check at all (a new run that starts from a checkpoint: this check is
its baseline). Every other step-N check is dropped, so the resumed series is the one an
uninterrupted run would have sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.trainer.client import EmwatchClient, ServiceRejectedError
from monitor.trainer.spool import Spool

log = logging.getLogger("emwatch.monitor")


class RunFinishedError(ServiceRejectedError):
    """The run is finished and the monitor was told not to reopen it."""


@dataclass(frozen=True)
class Resume:
    run: str
    from_step: int
    check_every: int
    reopen: bool  # reopen the run if it is finished
    step_check: bytes | None  # the check taken on the restored weights at from_step


def drop_dead_branch(spool: Spool, from_step: int) -> list[int]:
    """Remove the spooled checks after ``from_step``; return their steps."""
    dropped = [step for step in spool.steps() if step > from_step]
    for step in dropped:
        spool.remove(step)
    if dropped:
        log.warning(
            "emwatch: training resumed from step %d; dropped %d spooled checks of the "
            "interrupted branch (steps %d-%d) instead of sending them",
            from_step,
            len(dropped),
            dropped[0],
            dropped[-1],
        )
    return dropped


def refuse_finished_run(client: EmwatchClient, resume: Resume) -> None:
    """Raise ``RunFinishedError`` for a finished run that is not to be reopened.

    Asked before the run is registered, because registering an existing run reopens it.
    """
    if resume.reopen:
        return
    run = client.find_run(resume.run)
    if run is not None and run["status"] != "running":
        raise RunFinishedError(
            f"run {resume.run!r} is {run['status']} and MonitorConfig(reopen_finished=False) "
            "keeps it so; nothing is sent for this training (use another run name, or "
            "reopen_finished=True)",
            status=409,
            code="run_finished",
        )


def continue_run(client: EmwatchClient, resume: Resume, spool: Spool) -> None:
    """Have the service supersede the checks after ``from_step``; spool the step check if it
    fills a gap (see the module docstring). Runs in the sender's set-up, before any send."""
    run = client.resume_run(resume.run, resume.from_step, reopen=resume.reopen)
    log.info(
        "emwatch: run %s resumes from step %d; the service set aside %d later checks",
        resume.run,
        resume.from_step,
        run.get("superseded", 0),
    )
    if resume.step_check is not None and step_check_missing(run, resume, spool.steps()):
        spool.put(resume.from_step, resume.step_check)


def step_check_missing(run: Mapping[str, Any], resume: Resume, spooled: list[int]) -> bool:
    """Whether the run, as the resume left it, lacks a check at ``from_step`` that belongs
    there: on the check schedule, or as the baseline of a run without checks."""
    if run.get("last_step") == resume.from_step or resume.from_step in spooled:
        return False  # held already (nothing after from_step survives a resume)
    if resume.from_step % resume.check_every == 0:
        return True
    # Spooled steps after from_step belong to the new branch: the training thread can hand
    # them over before this set-up runs, and they are sent after the baseline, not instead.
    spooled_before = [step for step in spooled if step < resume.from_step]
    return not run.get("n_checks") and not spooled_before  # no check anywhere: the baseline
