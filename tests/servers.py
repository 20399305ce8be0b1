"""Real servers for tests: the emwatch service under uvicorn, and PostgreSQL from initdb."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor.fixtures.local_service import LocalService, free_port

ADMIN_TOKEN = "emw_testadmin01_" + "s" * 40
__all__ = [
    "ADMIN_TOKEN",
    "PostgresCluster",
    "ServiceProcess",
    "free_port",
    "postgres_server",
    "running_service",
]


class ServiceProcess(LocalService):
    """``emwatch serve`` for tests: always accepts ``ADMIN_TOKEN``."""

    def __init__(self, data_dir: Path, **kwargs: Any) -> None:
        super().__init__(data_dir, ADMIN_TOKEN, **kwargs)


@contextmanager
def running_service(data_dir: Path, **kwargs: Any) -> Iterator[ServiceProcess]:
    service = ServiceProcess(data_dir, **kwargs)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb refuses to run as root; CI and this machine run tests as root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


class PostgresCluster:
    """A throwaway PostgreSQL cluster from initdb on a loopback port.

    Fault tests stop and start it (``pg_ctl``), or freeze it: SIGSTOP to every one of its
    processes, so connections stay open and nothing answers, as with a hung server.
    """

    def __init__(self) -> None:
        missing = [tool for tool in ("initdb", "pg_ctl") if shutil.which(tool) is None]
        if missing:
            raise RuntimeError(
                f"PostgreSQL binaries {missing} not on PATH; install the postgresql "
                "package (the tests need a real server)"
            )
        self.root = Path(tempfile.mkdtemp(prefix="emwatch-pg-"))
        self.data = self.root / "data"
        sockets = self.root / "sock"
        sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(sockets, "postgres")
        self.port = free_port()
        self.options = f"-p {self.port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres_user(
                [
                    *("initdb", "-D", str(self.data), "-U", "emwatch"),
                    *("-A", "trust", "-E", "UTF8", "--no-sync"),
                ]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql://emwatch@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres_user(["pg_ctl", "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._pg_ctl("-o", self.options, "-w", "-l", str(self.root / "pg.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def pids(self) -> list[int]:
        """The postmaster and every process it started."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = [
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _parent(entry) == postmaster
        ]
        return [postmaster, *children]

    def freeze(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.pids():
            os.kill(pid, signal.SIGCONT)

    def remove(self) -> None:
        subprocess.run(
            _as_postgres_user(["pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def _parent(proc: Path) -> int | None:
    try:
        # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
        return int((proc / "stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a loopback port; yields its SQLAlchemy URL."""
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.remove()
