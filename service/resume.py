"""Resuming a run from a step: what a trainer does when training restarts from a checkpoint.

The checks after the step describe weights that no longer exist. In one locked transaction
they move, with their scores and their training-sample attribution summaries, to the
superseded tables (kept for audit; scores are flagged in ``GET /scores?include_superseded=true``,
attribution summaries leave ``GET /samples`` and /metrics), and the run's detector and alerts
become those of the surviving series: the state saved with the last surviving check. New checks
at the superseded steps are then accepted with any content. Resuming again from the same step
with nothing new since supersedes nothing and changes nothing.
"""

from __future__ import annotations

import time

from service.access import require_run_writer
from service.ingest import unknown_run
from service.packs import PackRegistry
from service.replay import DetectorSpec, alert_row, replay
from service.store import Store
from service.store.errors import UnknownRunError
from service.store.locked_run import LockedRun
from service.store.records import RunRecord, TokenRecord


def resume_run(
    store: Store,
    packs: PackRegistry,
    run: RunRecord,
    *,
    from_step: int,
    reopen: bool,
    token: TokenRecord,
) -> tuple[RunRecord, int]:
    """Supersede the run's checks after ``from_step``; returns the run and how many moved."""
    require_run_writer(token, run)
    spec = DetectorSpec.of(run, packs.load_for(run))

    def supersede(locked: LockedRun) -> int:
        current = locked.run
        moved = locked.supersede_after(from_step, time.time())
        if moved:
            saved = locked.state_before(from_step + 1)
            result = replay(locked, spec, saved)  # replays only checks saved without a state
            if result.replayed:
                locked.write_series(result.after_step, result.replayed, appended_only=False)
            locked.replace_alerts([alert_row(a) for a in result.detector.alerts()])
            live = locked.live_summary()
            locked.update_run(
                n_checks=live.n_checks,
                last_step=live.last_step,
                last_check_at=live.last_check_at,
                baseline_step=result.detector.baseline_step,
                n_prompts=current.n_prompts if live.n_checks else None,
            )
        if reopen and current.status != "running":
            locked.update_run(status="running", finished_at=None)
        return moved

    try:
        moved = store.with_locked_run(run.name, supersede)
        resumed = store.get_run(run.name)
    except UnknownRunError as exc:
        raise unknown_run(run.name) from exc
    if resumed is None:  # deleted right after the resume committed
        raise unknown_run(run.name)
    return resumed, moved
