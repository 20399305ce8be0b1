"""Probe packs as a single tar archive: how a pack travels to the service.

Extraction treats the archive as untrusted: only regular files and directories, no absolute
paths, no ``..``, no links, and a cap on the unpacked size.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path, PurePosixPath

from monitor.core.pack.errors import ProbePackError

MEDIA_TYPE = "application/x-tar"


def pack_archive(directory: str | Path) -> bytes:
    """Tar the pack directory (uncompressed: safetensors weights barely compress)."""
    directory = Path(directory)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                archive.add(path, arcname=path.relative_to(directory).as_posix(), recursive=False)
    return buffer.getvalue()


def _open(data: bytes) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except tarfile.TarError as exc:
        raise ProbePackError(
            f"body is not a tar archive of a probe pack ({exc}); send the output of "
            "monitor.core.pack.archive.pack_archive(DIR)"
        ) from exc


def extract_archive(data: bytes, destination: Path, max_unpacked_bytes: int) -> None:
    """Unpack a pack archive into ``destination`` (which must not exist yet)."""
    with _open(data) as archive:
        try:
            members = archive.getmembers()
        except (tarfile.TarError, EOFError) as exc:
            raise ProbePackError(f"tar archive is truncated or corrupt: {exc}") from exc
        total = 0
        for member in members:
            pure = PurePosixPath(member.name)
            if pure.is_absolute() or ".." in pure.parts:
                raise ProbePackError(f"archive member {member.name!r} escapes the pack directory")
            if not (member.isfile() or member.isdir()):
                raise ProbePackError(f"archive member {member.name!r} is not a regular file")
            total += member.size
            if total > max_unpacked_bytes:
                raise ProbePackError(f"archive unpacks to more than {max_unpacked_bytes} bytes")
        destination.mkdir(parents=True)
        try:
            archive.extractall(destination, members=members, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise ProbePackError(f"tar archive could not be unpacked: {exc}") from exc
