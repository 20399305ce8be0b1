"""Real servers for tests: the emwatch service under uvicorn, and PostgreSQL from initdb."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor.fixtures.local_service import LocalService, free_port

ADMIN_TOKEN = "emw_testadmin01_" + "s" * 40
__all__ = ["ADMIN_TOKEN", "ServiceProcess", "free_port", "postgres_server", "running_service"]


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


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a loopback port; yields its SQLAlchemy URL."""
    missing = [tool for tool in ("initdb", "pg_ctl") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(
            f"PostgreSQL binaries {missing} not on PATH; install the postgresql "
            "package (the tests need a real server)"
        )
    root = Path(tempfile.mkdtemp(prefix="emwatch-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres_user(
            ["initdb", "-D", str(data), "-U", "emwatch", "-A", "trust", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres_user(
            ["pg_ctl", "-D", str(data), "-o", options, "-w", "-l", str(root / "pg.log"), "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://emwatch@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user(["pg_ctl", "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
