"""Every kind of bad input gets a 4xx that names the problem, and stored data stays intact."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch
from safetensors.torch import save

from monitor.core.wire import encode_check
from monitor.trainer.client import EmwatchClient
from tests.factories import D_MODEL, HOOKS, make_check
from tests.servers import ADMIN_TOKEN, ServiceProcess
from tests.service.conftest import pack_dir

RUN = "seeded"
OCTET = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def seeded(admin: EmwatchClient, pack_name: str) -> str:
    """A run with three stored checks, whose state every bad request must leave untouched."""
    admin.create_run({"name": RUN, "probe_pack": pack_name})
    for step in (0, 10, 20):
        admin.send_check(RUN, encode_check(make_check(RUN, step, seed=step)))
    return RUN


def _snapshot(admin: EmwatchClient) -> tuple[object, ...]:
    run = admin.get_run(RUN)
    return (
        run["n_checks"],
        run["last_step"],
        run["last_check_at"],
        admin.scores(RUN),
        admin.alerts(RUN),
        [r["name"] for r in admin.list_runs()],
        [p["content_hash"] for p in admin.list_packs()],
    )


@pytest.fixture
def unchanged(admin: EmwatchClient, seeded: str) -> Iterator[None]:
    before = _snapshot(admin)
    yield
    assert _snapshot(admin) == before


def _assert_rejected(response: httpx.Response, status: int, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert "Traceback" not in body["detail"]
    for fragment in fragments:
        assert fragment in body["detail"], body["detail"]


def _post_check(http: httpx.Client, body: bytes, run: str = RUN) -> httpx.Response:
    return http.post(f"/v1/runs/{run}/checks", content=body, headers=OCTET)


def _with_metadata(run: str, **overrides: str) -> bytes:
    """A check whose metadata says what no encoder would write."""
    check = make_check(run, 30)
    metadata = {
        "emwatch_wire": "1",
        "run": run,
        "step": "30",
        "hook_points": json.dumps(list(check.activations)),
        "prompt_set_hash": "c" * 64,
        "dtype": "float32",
        **overrides,
    }
    return save(dict(check.activations), metadata=metadata)


def test_fewer_prompts_than_the_baseline(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check(RUN, 30, n_prompts=4))
    _assert_rejected(_post_check(http, body), 422, "carries 4 prompts", "has 6")


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        (str(2**63), "out of range"),
        (str(2**63 - 1), "out of range"),
        ("9" * 5000, "out of range"),
        ("\u0663", "plain decimal digits"),  # ARABIC-INDIC DIGIT THREE: int() takes it
        ("3_0", "plain decimal digits"),
        (" 40 ", "plain decimal digits"),
        ("040", "leading zeros"),
        ("-1", "no sign"),
    ],
)
def test_steps_out_of_range_or_not_canonical(
    http: httpx.Client, unchanged: None, step: str, fragment: str
) -> None:
    _assert_rejected(_post_check(http, _with_metadata(RUN, step=step)), 400, fragment)


@pytest.mark.parametrize("prompt_set_hash", ["c" * 65, "c" * 63 + "\0", "x" * 10_000, "C" * 64, ""])
def test_prompt_set_hash_as_at_run_creation_on_a_runs_first_check(
    http: httpx.Client, admin: EmwatchClient, unchanged: None, prompt_set_hash: str
) -> None:
    name = f"first-{len(prompt_set_hash)}-{prompt_set_hash[:1] or 'empty'}"
    admin.create_run({"name": name, "probe_pack": "api-pack"})
    body = _with_metadata(name, prompt_set_hash=prompt_set_hash)
    _assert_rejected(_post_check(http, body, run=name), 400, "64 lowercase hex")
    run = admin.get_run(name)
    assert (run["n_checks"], run["prompt_set_hash"]) == (0, None)
    admin.delete_run(name)


@pytest.mark.parametrize("value", [3e38, -3e38, 2e6])
def test_values_beyond_the_magnitude_bound(
    http: httpx.Client, unchanged: None, value: float
) -> None:
    check = make_check(RUN, 30)
    check.activations[HOOKS[0]][1, 2] = value  # type: ignore[index]
    _assert_rejected(
        _post_check(http, encode_check(check)), 422, "EMWATCH_MAX_ABS_ACTIVATION", HOOKS[0]
    )


def test_more_prompts_than_the_service_takes(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check(RUN, 30, n_prompts=100))  # the test service takes 64
    _assert_rejected(_post_check(http, body), 422, "carries 100 prompts", "at most 64")


def test_unknown_query_parameters_are_named(http: httpx.Client, unchanged: None) -> None:
    response = http.get("/v1/runs", params={"stauts": "finished"})
    _assert_rejected(response, 422, "unknown query parameters ['stauts']", "status")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b'{"name": "x", "probe_pack": "api-pack", "d_model": Infinity}', 422, "d_model"),
        (b'{"name": "n", "probe_pack": "api-pack", "labels": {"bad key": "v"}}', 422, "labels"),
        (
            b'{"name": "n", "probe_pack": "api-pack", "detector": {"rules": {"'
            + b"r" * 65
            + b'": {"signal": "zscore", "warning": 1}}}}',
            422,
            "rules",
        ),
        (
            b'{"name": "n", "probe_pack": "api-pack", "detector": {"cusum_slack": NaN}}',
            422,
            "cusum_slack",
        ),
    ],
)
def test_json_bodies_out_of_bounds(
    http: httpx.Client, unchanged: None, body: bytes, status: int, fragment: str
) -> None:
    response = http.post("/v1/runs", content=body, headers={"Content-Type": "application/json"})
    _assert_rejected(response, status, fragment)


def test_wrong_d_model(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check(RUN, 30, d_model=D_MODEL * 2))
    _assert_rejected(_post_check(http, body), 422, "d_model 32", "d_model 16")


def test_wrong_hook_names(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check(RUN, 30, hooks=(HOOKS[0], "model.layers.9")))
    _assert_rejected(
        _post_check(http, body), 422, "missing ['model.layers.2']", "unexpected ['model.layers.9']"
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values(http: httpx.Client, unchanged: None, bad: float) -> None:
    check = make_check(RUN, 30)
    check.activations[HOOKS[1]][2, 3] = bad  # type: ignore[index]
    _assert_rejected(_post_check(http, encode_check(check)), 400, "NaN or infinite", HOOKS[1])


def test_truncated_body(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check(RUN, 30))
    _assert_rejected(_post_check(http, body[: len(body) - 7]), 400, "truncated")


@pytest.mark.parametrize("body", [b"", b"not a check", json.dumps([[1.0, 2.0]]).encode()])
def test_non_safetensors_body(http: httpx.Client, unchanged: None, body: bytes) -> None:
    response = _post_check(http, body)
    assert response.status_code == 400 and response.json()["error"] == "invalid_check"


def test_safetensors_without_emwatch_metadata(http: httpx.Client, unchanged: None) -> None:
    body = save({h: torch.zeros(6, D_MODEL) for h in HOOKS})
    _assert_rejected(_post_check(http, body), 400, "no __metadata__")


def test_oversized_body_by_content_length(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check(RUN, 30, n_prompts=5000))  # > 256 KiB service limit
    _assert_rejected(_post_check(http, body), 413, "at most 262144 bytes")


def test_oversized_body_streamed_without_length(http: httpx.Client, unchanged: None) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"\0" * 8192

    _assert_rejected(
        http.post(f"/v1/runs/{RUN}/checks", content=chunks(), headers=OCTET),
        413,
        "at most 262144 bytes",
    )


def test_duplicate_step_with_other_content(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check(RUN, 10, seed=99))
    _assert_rejected(_post_check(http, body), 409, "already has a different check at step 10")


def test_unknown_run(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check("ghost", 0))
    _assert_rejected(_post_check(http, body, run="ghost"), 404, "no run named 'ghost'")
    _assert_rejected(http.get("/v1/runs/ghost/alerts"), 404, "ghost")


def test_unknown_probe_pack(http: httpx.Client, unchanged: None) -> None:
    response = http.post("/v1/runs", json={"name": "new-run", "probe_pack": "no-such-pack"})
    _assert_rejected(response, 404, "no probe pack named 'no-such-pack'")
    _assert_rejected(http.get("/v1/probe-packs/no-such-pack"), 404, "no-such-pack")


def test_check_for_another_run(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check("other-run", 30))
    _assert_rejected(_post_check(http, body), 422, "for run 'other-run'", f"run {RUN!r}")


def test_other_canary_set(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check(RUN, 30, prompt_set_hash="d" * 64))
    _assert_rejected(_post_check(http, body), 422, "canary prompt set")


def test_wrong_content_type(http: httpx.Client, unchanged: None) -> None:
    body = encode_check(make_check(RUN, 30))
    response = http.post(
        f"/v1/runs/{RUN}/checks", content=body, headers={"Content-Type": "application/json"}
    )
    _assert_rejected(response, 415, "application/octet-stream")


@pytest.mark.parametrize(
    ("headers", "status", "fragment"),
    [
        ({}, 401, "missing bearer token"),
        ({"Authorization": "Basic abc"}, 401, "must be 'Bearer <token>'"),
        ({"Authorization": "Bearer nonsense"}, 401, "malformed token"),
        ({"Authorization": "Bearer emw_testadmin01_wrongsecret"}, 401, "invalid token"),
        ({"Authorization": "Bearer emw_unknownid_" + "s" * 40}, 401, "invalid token"),
    ],
)
def test_missing_or_bad_token(
    service: ServiceProcess, unchanged: None, headers: dict[str, str], status: int, fragment: str
) -> None:
    body = encode_check(make_check(RUN, 30))
    response = httpx.post(
        f"{service.url}/v1/runs/{RUN}/checks", content=body, headers={**OCTET, **headers}
    )
    _assert_rejected(response, status, fragment)


def test_wrong_scope(service: ServiceProcess, http: httpx.Client, unchanged: None) -> None:
    reader = http.post("/v1/tokens", json={"name": "reader", "scopes": ["read"]}).json()["token"]
    ingester = http.post("/v1/tokens", json={"name": "ci", "scopes": ["ingest"]}).json()["token"]
    body = encode_check(make_check(RUN, 30))
    _assert_rejected(
        httpx.post(
            f"{service.url}/v1/runs/{RUN}/checks",
            content=body,
            headers={**OCTET, "Authorization": f"Bearer {reader}"},
        ),
        403,
        "scopes [read]",
        "needs 'ingest'",
    )
    _assert_rejected(
        httpx.delete(
            f"{service.url}/v1/runs/{RUN}", headers={"Authorization": f"Bearer {ingester}"}
        ),
        403,
        "needs 'admin'",
    )
    _assert_rejected(
        httpx.get(f"{service.url}/v1/tokens", headers={"Authorization": f"Bearer {reader}"}),
        403,
        "admin",
    )


@pytest.mark.parametrize("name", ["has space", "-leading-dash", "a/b", "x" * 129, "ünïcode"])
def test_malformed_run_name(http: httpx.Client, unchanged: None, name: str) -> None:
    response = http.post("/v1/runs", json={"name": name, "probe_pack": "api-pack"})
    assert response.status_code == 422 and "name" in response.json()["detail"]
    path_name = name.replace("/", "%2F")
    response = http.post(f"/v1/runs/{path_name}/checks", content=b"x", headers=OCTET)
    assert 400 <= response.status_code < 500


def test_malformed_run_name_message(http: httpx.Client, unchanged: None) -> None:
    response = http.get("/v1/runs/has space/alerts")
    _assert_rejected(response, 422, "invalid run name 'has space'", "letters, digits")


def test_invalid_detector_config(http: httpx.Client, unchanged: None) -> None:
    response = http.post(
        "/v1/runs",
        json={
            "name": "bad-detector",
            "probe_pack": "api-pack",
            "detector": {"rules": {"p": {"signal": "zscore", "warning": 5, "critical": 1}}},
        },
    )
    _assert_rejected(response, 422, "critical threshold must be >= warning")


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("archive", "fragment"),
    [
        (b"definitely not a tar", "not a tar archive"),
        (_tar({"../evil.json": b"{}"}), "escapes the pack directory"),
        (_tar({"readme.txt": b"hi"}), "has no manifest.json"),
        (_tar({"manifest.json": b'{"schema_version": 1}'}), "does not match the schema"),
    ],
)
def test_invalid_probe_pack_upload(
    http: httpx.Client, unchanged: None, archive: bytes, fragment: str
) -> None:
    response = http.post(
        "/v1/probe-packs", content=archive, headers={"Content-Type": "application/x-tar"}
    )
    _assert_rejected(response, 422, fragment)


def test_probe_pack_with_corrupted_weights(
    http: httpx.Client, unchanged: None, tmp_path: Path
) -> None:
    directory = pack_dir(tmp_path, name="corrupt")
    (directory / "directions.safetensors").write_bytes(b"garbage")
    from monitor.core.pack.archive import pack_archive

    response = http.post(
        "/v1/probe-packs",
        content=pack_archive(directory),
        headers={"Content-Type": "application/x-tar"},
    )
    _assert_rejected(response, 422, "changed after the pack was written")


def test_unknown_route_and_method(http: httpx.Client, unchanged: None) -> None:
    _assert_rejected(http.get("/v1/nothing-here"), 404, "Not Found")
    assert http.put(f"/v1/runs/{RUN}").status_code == 405


def test_bootstrap_token_is_admin(service: ServiceProcess) -> None:
    response = httpx.get(
        f"{service.url}/v1/tokens", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 200
