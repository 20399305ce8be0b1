"""Ingest in process, on a real SQLite file: what HTTP cannot show (how much a check replays,
how scores depend on the bytes around them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from monitor.core.pack.archive import pack_archive
from monitor.core.wire import MAX_STEP, Check, encode_check
from service.app import create_app
from service.services import Services
from service.settings import ServiceSettings
from service.store.locked_run import LockedRun
from service.store.records import StoredCheck, TokenRecord
from tests.factories import make_check, make_pack

ADMIN = TokenRecord("admin", "admin", "0" * 64, frozenset({"admin"}), 0.0, None)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    app = create_app(ServiceSettings(data_dir=tmp_path / "data"))
    services: Services = app.state.services
    make_pack(tmp_path / "pack", name="ingest-pack")
    services.packs.register(pack_archive(tmp_path / "pack"))
    yield services
    services.store.engine.dispose()


def _create(services: Services, name: str) -> None:
    services.store.create_run(
        name=name,
        probe_pack="ingest-pack",
        model_id="",
        detector_config={},
        labels={},
        prompt_set_hash=None,
        created_at=0.0,
        created_by="admin",
    )


def _ingest(services: Services, run: str, step: int) -> None:
    services.ingest.ingest(run, bytearray(encode_check(make_check(run, step, seed=step))), ADMIN)


def test_a_late_check_replays_only_the_checks_after_it(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's step 2**63-1 made every later check rebuild the whole series; now the
    largest step is 2**53-1, and a check before it replays that one check, not the run."""
    _create(services, "long")
    for step in range(0, 300, 10):
        _ingest(services, "long", step)
    _ingest(services, "long", MAX_STEP)
    replayed: list[list[int]] = []
    original = LockedRun.checks_after

    def counted(self: LockedRun, step: int) -> list[StoredCheck]:
        found = original(self, step)
        replayed.append([check.step for check in found])
        return found

    monkeypatch.setattr(LockedRun, "checks_after", counted)
    _ingest(services, "long", 305)
    _ingest(services, "long", 315)
    assert replayed == [[MAX_STEP], [MAX_STEP]]
    _ingest(services, "long", 325 + MAX_STEP // 2)  # a late check between two stored ones
    assert replayed[-1] == [MAX_STEP]
    run = services.store.get_run("long")
    assert run is not None and (run.n_checks, run.last_step) == (34, MAX_STEP)


def test_scores_do_not_depend_on_where_the_values_lie_in_the_body(services: Services) -> None:
    """Values are read in place from the body, at an offset set by the header's length; a
    matrix product's last bit depends on alignment, so scoring copies them first."""
    activations = make_check("a", 0).activations
    scores = []
    for name in [f"run{'-' * length}x" for length in range(16)]:  # headers of 16 lengths
        _create(services, name)
        check = Check(name, 0, "c" * 64, {h: t.clone() for h, t in activations.items()})
        result, _stored = services.ingest.ingest(name, bytearray(encode_check(check)), ADMIN)
        scores.append([(s.hook_point, s.feature, s.value) for s in result.signals])
    assert all(other == scores[0] for other in scores[1:])
    assert all(torch.isfinite(torch.tensor([v for *_, v in s])).all() for s in scores)


def test_a_run_recreated_with_another_pack_is_scored_with_the_new_one(
    services: Services, tmp_path: Path
) -> None:
    """The ingest keeps each run's pack in memory; a run deleted and created again under the
    same name with another pack must not be scored with the old one."""
    _create(services, "reborn")
    _ingest(services, "reborn", 0)  # the run's record (and pack) is now cached
    make_pack(
        tmp_path / "other",
        name="other-pack",
        directions={h: torch.ones(16) for h in ("model.layers.1", "model.layers.2")},
        with_sae=False,
    )
    services.packs.register(pack_archive(tmp_path / "other"))
    run = services.store.get_run("reborn")
    assert run is not None
    services.store.delete_run(run.run_id)
    services.store.create_run(
        name="reborn",
        probe_pack="other-pack",
        model_id="",
        detector_config={},
        labels={},
        prompt_set_hash=None,
        created_at=0.0,
        created_by="admin",
    )
    body = bytearray(encode_check(make_check("reborn", 0, seed=0)))
    result, stored = services.ingest.ingest("reborn", body, ADMIN)
    assert stored and {s.feature for s in result.signals} == {"direction:em"}  # no latents
