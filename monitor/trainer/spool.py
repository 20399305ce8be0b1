"""Checks waiting for the service, kept on disk so an outage loses nothing.

One file per step under ``<spool dir>/<run>/``, written atomically (temp file + rename), so a
trainer killed mid-write leaves no half check behind. The spool is bounded: when full it drops
the oldest check *after* the baseline, because the baseline anchors every z-score and the newest
checks carry the current state.
"""

from __future__ import annotations

import logging
from pathlib import Path

from monitor.core.naming import check_run_name

log = logging.getLogger("emwatch.spool")
SUFFIX = ".check"
DEFAULT_SPOOL_DIR = Path.home() / ".cache" / "emwatch" / "spool"


class Spool:
    def __init__(
        self, root: Path, run: str, *, max_checks: int = 1000, max_bytes: int = 1 << 30
    ) -> None:
        self.directory = Path(root) / check_run_name(run)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_checks = max_checks
        self.max_bytes = max_bytes

    def _path(self, step: int) -> Path:
        return self.directory / f"{step:012d}{SUFFIX}"

    def steps(self) -> list[int]:
        """Spooled steps, oldest first."""
        return sorted(int(path.stem) for path in self.directory.glob(f"*{SUFFIX}"))

    def __len__(self) -> int:
        return len(self.steps())

    def put(self, step: int, body: bytes) -> None:
        temporary = self.directory / f".{step:012d}.tmp"
        temporary.write_bytes(body)
        temporary.replace(self._path(step))
        self._enforce_bounds()

    def read(self, step: int) -> bytes:
        return self._path(step).read_bytes()

    def remove(self, step: int) -> None:
        self._path(step).unlink(missing_ok=True)

    def _enforce_bounds(self) -> None:
        steps = self.steps()
        sizes = {step: self._path(step).stat().st_size for step in steps}
        while len(steps) > 1 and (
            len(steps) > self.max_checks or sum(sizes[s] for s in steps) > self.max_bytes
        ):
            dropped = steps.pop(1)  # keep steps[0], the oldest: it may be the baseline
            self.remove(dropped)
            log.warning(
                "emwatch spool %s is full; dropped the check of step %d", self.directory, dropped
            )
