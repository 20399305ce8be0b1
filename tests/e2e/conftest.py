from __future__ import annotations

from pathlib import Path

import pytest

from monitor.core.pack import ProbePack
from monitor.fixtures.tiny_loop import build_diffing_pack


@pytest.fixture(scope="session")
def diffing_pack(tmp_path_factory: pytest.TempPathFactory) -> ProbePack:
    """The tiny model's narrow-task pack, built once by a pilot fine-tune (model diffing)."""
    work = tmp_path_factory.mktemp("diffing")
    return build_diffing_pack(work / "pack", work, seed=0)


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"
