"""Registered probe packs: validated on upload, stored in the database, scored from a cache.

The archive in the database is the source of truth (so a PostgreSQL-backed fleet shares it);
each service process unpacks a pack once into ``data_dir/packs/<content hash>`` and keeps the
loaded ``ProbePack`` in memory.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

from monitor.core.pack import ProbePack, ProbePackError, load_pack
from monitor.core.pack.archive import extract_archive
from service.errors import ApiError
from service.store import Store
from service.store.errors import DuplicateKeyError
from service.store.records import PackRecord, RunRecord


class PackRegistry:
    def __init__(self, store: Store, data_dir: Path, max_unpacked_bytes: int) -> None:
        self.store = store
        self.root = data_dir / "packs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_unpacked_bytes = max_unpacked_bytes
        self._loaded: dict[str, ProbePack] = {}  # by content hash
        self._lock = threading.Lock()

    def register(self, archive: bytes) -> tuple[PackRecord, bool]:
        """Validate and store a pack archive; returns (record, newly created)."""
        with tempfile.TemporaryDirectory(dir=self.root, prefix=".upload-") as scratch:
            unpacked = Path(scratch) / "pack"
            try:
                extract_archive(archive, unpacked, self.max_unpacked_bytes)
                pack = load_pack(unpacked)
            except ProbePackError as exc:
                # The temporary path means nothing to the client: name the pack instead.
                detail = str(exc).replace(str(unpacked), "the uploaded pack")
                raise ApiError(422, "invalid_probe_pack", detail) from exc
            existing = self.store.get_pack(pack.name)
            if existing is not None:
                return self._same_or_conflict(existing, pack), False
            record = PackRecord(
                pack.name,
                pack.content_hash,
                pack.manifest.model_dump(mode="json"),
                time.time(),
                len(archive),
            )
            try:
                self.store.insert_pack(record, archive)
            except DuplicateKeyError:  # a concurrent upload of the same name won
                winner = self.store.get_pack(pack.name)
                assert winner is not None
                return self._same_or_conflict(winner, pack), False
            self._keep(unpacked, pack.content_hash)
        return record, True

    @staticmethod
    def _same_or_conflict(existing: PackRecord, pack: ProbePack) -> PackRecord:
        if existing.content_hash != pack.content_hash:
            raise ApiError(
                409,
                "pack_conflict",
                f"probe pack {pack.name!r} is already registered with other content "
                f"(hash {existing.content_hash[:12]}…); packs are immutable, so "
                "register this one under a new name (e.g. with a version suffix)",
            )
        return existing

    def _keep(self, unpacked: Path, content_hash: str) -> None:
        target = self.root / content_hash
        if not target.exists():
            shutil.move(str(unpacked), target)

    def load_for(self, run: RunRecord) -> ProbePack:
        """The run's pack, from memory when loaded before: no query on the hot path."""
        with self._lock:
            cached = self._loaded.get(run.pack_hash)
        return cached if cached is not None else self.load(run.probe_pack)

    def load(self, name: str) -> ProbePack:
        """The loaded pack registered under ``name``; unpacked from the database if needed."""
        record = self.store.get_pack(name)
        if record is None:
            raise ApiError(
                404,
                "unknown_probe_pack",
                f"no probe pack named {name!r}; register it with POST "
                "/v1/probe-packs (`emwatch probes register DIR`)",
            )
        with self._lock:
            cached = self._loaded.get(record.content_hash)
            if cached is not None:
                return cached
            directory = self.root / record.content_hash
            if not (directory / "manifest.json").is_file():
                archive = self.store.get_pack_archive(name)
                assert archive is not None
                shutil.rmtree(directory, ignore_errors=True)
                extract_archive(archive, directory, self.max_unpacked_bytes)
            pack = load_pack(directory)
            self._loaded[record.content_hash] = pack
            return pack
