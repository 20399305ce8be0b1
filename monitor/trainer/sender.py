"""Sending checks off the training thread, with spooling and replay.

The training thread only enqueues encoded checks; a daemon thread registers the run, sends
checks in step order and hands each answer back through ``on_result``. While the service is
unreachable every check goes to the on-disk spool; once a request succeeds again the spool is
replayed oldest first. Ingestion is idempotent on (run, step), so a check whose answer was lost
in a crash is simply stored once when replayed.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from monitor.trainer.client import EmwatchClient, ServiceRejectedError, ServiceUnavailableError
from monitor.trainer.spool import Spool

log = logging.getLogger("emwatch.sender")

ResultHandler = Callable[[int, dict[str, Any]], None]
Setup = Callable[[EmwatchClient], None]


class Outcome(Enum):
    """What became of one request."""

    DONE = "done"
    UNREACHABLE = "unreachable"  # try again later; keep the check
    REFUSED = "refused"  # the service said no (or the request failed in a way retries cannot fix)


class CheckSender:
    def __init__(
        self,
        client: EmwatchClient,
        run: str,
        spool: Spool,
        *,
        setup: Setup,
        on_result: ResultHandler,
        retry_interval: float = 2.0,
        max_queue: int = 64,
    ) -> None:
        """``setup`` runs once before any check is sent (register the pack and the run); it
        is retried, like a send, while the service is unreachable. If the service refuses it
        (4xx), nothing is sent for this run: checks stay in the spool and the refusal is in
        ``errors``."""
        self.client = client
        self.run = run
        self.spool = spool
        self.setup = setup
        self.on_result = on_result
        self.retry_interval = retry_interval
        self.errors: list[str] = []  # permanent rejections, for strict mode to raise
        self._queue: queue.Queue[tuple[int, bytes] | None] = queue.Queue(maxsize=max_queue)
        self._ready = False  # setup has succeeded
        self._refused = False  # the service refused the setup: nothing can be sent
        self._reachable = True  # the last request reached the service (for log messages)
        self._deadline = float("inf")  # set by close()
        self._idle = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"emwatch-sender-{run}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def submit(self, step: int, body: bytes) -> None:
        """Hand a check over; never blocks the training loop."""
        self._idle.clear()
        try:
            self._queue.put_nowait((step, body))
        except queue.Full:  # the service is slower than training: keep it on disk instead
            self.spool.put(step, body)

    def close(self, timeout: float) -> bool:
        """Send what is queued and spooled, giving up after ``timeout`` seconds.

        Returns True if everything reached the service; what did not stays in the spool, and
        the next monitor started for this run (or ``emwatch spool replay``) sends it.
        """
        self._deadline = time.monotonic() + timeout
        self._queue.put(None)
        self._thread.join(timeout + self.retry_interval + self.client.timeout)
        return self.flushed

    @property
    def flushed(self) -> bool:
        return self._ready and self._queue.empty() and len(self.spool) == 0

    def wait_idle(self, timeout: float) -> bool:
        """Block until every submitted check was answered or spooled."""
        return self._idle.wait(timeout)

    # -- the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        closing = False
        while True:
            try:
                item = self._queue.get(timeout=self.retry_interval)
                closing = closing or item is None
                if item is not None:
                    self._take(*item)
            except queue.Empty:
                pass  # nothing new: a chance to retry setup or the replay
            self._catch_up()
            if self._queue.empty():
                self._idle.set()
            if closing and (self.flushed or self._refused or time.monotonic() >= self._deadline):
                return

    def _take(self, step: int, body: bytes) -> None:
        """Send a fresh check directly when nothing older waits; otherwise queue it on disk."""
        if self._ready and len(self.spool) == 0 and self._deliver(step, body):
            return
        self.spool.put(step, body)

    def _catch_up(self) -> None:
        """Finish setup if needed, then replay the spool oldest first."""
        if self._refused:
            return
        if not self._ready:
            outcome = self._attempt(lambda: self.setup(self.client), "register the run")
            self._ready = outcome is Outcome.DONE
            self._refused = outcome is Outcome.REFUSED
            if not self._ready:
                return
        for step in self.spool.steps():
            if not self._deliver(step, self.spool.read(step)):
                return
            self.spool.remove(step)

    def _deliver(self, step: int, body: bytes) -> bool:
        """Send one check. False only when the service is unreachable (keep it for later);
        a permanent rejection is logged, recorded and dropped."""
        answer: dict[str, Any] = {}

        def send() -> None:
            answer.update(self.client.send_check(self.run, body))

        if self._attempt(send, f"send the check of step {step}") is Outcome.UNREACHABLE:
            return False
        if answer:
            self.on_result(step, answer)
        return True

    def _attempt(self, action: Callable[[], None], what: str) -> Outcome:
        """Run one request; log state changes instead of raising into anyone's loop."""
        try:
            action()
        except ServiceUnavailableError as exc:
            if self._reachable:
                log.warning(
                    "emwatch: could not %s; spooling to %s until the service is back (%s)",
                    what,
                    self.spool.directory,
                    exc,
                )
            self._reachable = False
            return Outcome.UNREACHABLE
        except ServiceRejectedError as exc:
            log.warning("emwatch: the service refused to %s: %s", what, exc)
            self.errors.append(str(exc))
            return Outcome.REFUSED
        except Exception as exc:  # a bug must not kill the thread and stall the spool
            log.warning("emwatch: unexpected error trying to %s: %r", what, exc)
            self.errors.append(repr(exc))
            return Outcome.REFUSED
        if not self._reachable:
            log.warning(
                "emwatch: service reachable again; replaying %d spooled checks", len(self.spool)
            )
        self._reachable = True
        return Outcome.DONE
