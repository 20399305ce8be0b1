"""Property-based fuzz of the whole HTTP API from its own OpenAPI document (schemathesis).

Against a real `emwatch serve` on SQLite, with a registered pack and a run holding checks:
every operation with generated valid and invalid input, then stateful sequences that follow
the operations' links (create a run, then read, patch, resume, delete it). The bar: no 5xx, no
response off its documented status, content type, headers or schema, invalid input refused,
auth enforced. ``make test`` runs a bounded number of examples; ``make test-slow`` many more.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.schemas import OpenApiSchema

from monitor.core.wire import encode_check
from monitor.trainer.client import EmwatchClient
from tests.factories import make_check, make_pack
from tests.servers import ADMIN_TOKEN, ServiceProcess, running_service

FAST = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def fuzzed_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    work = tmp_path_factory.mktemp("fuzz")
    with (
        running_service(work / "svc") as service,
        EmwatchClient(service.url, ADMIN_TOKEN) as client,
    ):
        make_pack(work / "pack", name="fuzz-pack")
        client.register_pack(work / "pack")
        client.create_run({"name": "fuzz-run", "probe_pack": "fuzz-pack"})
        for step in (0, 10):
            client.send_check("fuzz-run", encode_check(make_check("fuzz-run", step)))
        yield service


# A pack upload is a tar archive: bytes, sent as schemathesis sends octet-stream bodies.
schemathesis.serializer.alias("application/x-tar", "application/octet-stream")

# The two binary uploads (a check, a pack's tar archive) are opaque bytes to OpenAPI: random
# bytes fit the schema and are rightly refused as not a check (400) or not a pack (422).
CONFIG = SchemathesisConfig.from_dict(
    {
        "auth": {"openapi": {"bearer": {"bearer": ADMIN_TOKEN}}},
        "operations": [
            {
                "include-method": "POST",
                "include-path-regex": "^/v1/(runs/\\{run\\}/checks|probe-packs)$",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422"]
                    }
                },
            }
        ],
    }
)


@pytest.fixture(scope="module")
def api_schema(fuzzed_service: ServiceProcess) -> OpenApiSchema:
    return schemathesis.openapi.from_url(f"{fuzzed_service.url}/openapi.json", config=CONFIG)


def _fuzz(operation: Any, budget: settings, calls: dict[str, int]) -> None:
    @given(case=operation.as_strategy())
    @budget
    def examples(case: Any) -> None:
        calls[operation.label] = calls.get(operation.label, 0) + 1
        case.call_and_validate()

    examples()


def test_every_operation(api_schema: OpenApiSchema) -> None:
    """One Hypothesis run per operation (schemathesis' pytest plugin does not run on pytest 9);
    every failing operation is reported, not just the first."""
    failures, calls = {}, {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:
        try:
            _fuzz(operation, FAST, calls)
        except Exception as exc:
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    assert not failures, "\n\n".join(f"{name}\n{text}" for name, text in failures.items())
    assert all(calls.get(op.label, 0) >= 1 for op in operations), calls
    assert len(operations) >= 20 and sum(calls.values()) >= 150, calls


def _stateful(api_schema: OpenApiSchema, budget: settings) -> None:
    base = api_schema.as_state_machine()  # the token comes from CONFIG's auth

    base.run(settings=budget)


# Which steps a sequence can take depends on what the server answered, so sequences cannot be
# derandomized; each run draws new ones (``-p hypothesis-seed`` replays a failure's seed).
STATEFUL = settings(FAST, derandomize=False)


def test_stateful_sequences(api_schema: OpenApiSchema) -> None:
    _stateful(api_schema, settings(STATEFUL, max_examples=8, stateful_step_count=6))


@pytest.mark.slow
def test_stateful_sequences_at_length(api_schema: OpenApiSchema) -> None:
    _stateful(api_schema, settings(STATEFUL, max_examples=200, stateful_step_count=12))
