"""What stop_on guarantees: training stops at the end of the step after the alerting check,
also when the service answers more slowly than a training step takes (a real loopback proxy
that holds every answer back)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from monitor.core.detect import Severity
from monitor.core.pack import ProbePack
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import make_trainer
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.training_monitor import MonitorConfig
from tests.servers import ADMIN_TOKEN, running_service

ANSWER_DELAY = 1.5  # seconds; a tiny-model step (and its check) takes a fraction of that


def _pipe(source: socket.socket, target: socket.socket, delay: float) -> None:
    try:
        while data := source.recv(65536):
            time.sleep(delay)
            target.sendall(data)
    except OSError:
        pass
    finally:
        target.close()


@contextmanager
def slow_proxy(upstream_port: int, delay: float) -> Iterator[str]:
    """A TCP proxy on loopback that forwards requests at once and answers ``delay`` late."""
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", upstream_port))
            threading.Thread(target=_pipe, args=(client, server, 0.0), daemon=True).start()
            threading.Thread(target=_pipe, args=(server, client, delay), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_stop_comes_one_step_after_the_alerting_check_with_a_slow_service(
    diffing_pack: ProbePack, tmp_path: Path, spool_dir: Path
) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    with (
        running_service(tmp_path / "service") as service,
        slow_proxy(service.port, ANSWER_DELAY) as url,
    ):
        emwatch = EmwatchCallback(
            MonitorConfig(
                url=url,
                token=ADMIN_TOKEN,
                run="latency",
                probe_pack=diffing_pack.directory,
                check_every=5,
                spool_dir=spool_dir,
                retry_interval=0.1,
                stop_on=Severity.WARNING,
            )
        )
        trainer = make_trainer(
            model, tokenizer, tmp_path / "out", max_steps=200, callbacks=[emwatch]
        )
        trainer.train()
    assert emwatch.monitor is not None and emwatch.monitor.stop_notice is not None
    # The answer to the check of step S is awaited at the end of step S + 1, never later.
    assert trainer.state.global_step == emwatch.monitor.stop_notice.step + 1
