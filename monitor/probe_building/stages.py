"""Timing and progress of a pack build, stage by stage.

A build on a real model spends minutes in single stages (sampling answers, training the SAE);
logging each stage as it starts and ends tells the user it is alive, and the durations go into
the report so the next user knows what a build costs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

log = logging.getLogger("emwatch.build")


@dataclass
class StageClock:
    seconds: dict[str, float] = field(default_factory=dict)
    _last: float = field(default_factory=time.perf_counter)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block as stage ``name``, logging its start and end."""
        log.info("build: %s ...", name)
        self._last = time.perf_counter()
        yield
        self.lap(name)

    def lap(self, name: str) -> None:
        """Record the time since the previous stage ended as stage ``name``."""
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now
        log.info("build: %s done in %.1f s", name, self.seconds[name])
