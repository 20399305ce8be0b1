from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save

from monitor.core.wire import WireFormatError, content_hash, decode_check, encode_check
from tests.factories import HOOKS, make_check


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_round_trip(dtype: str) -> None:
    check = make_check(step=40)
    decoded = decode_check(encode_check(check, dtype=dtype))
    assert (decoded.run, decoded.step, decoded.prompt_set_hash) == ("run-1", 40, "p" * 64)
    assert decoded.hook_points == list(HOOKS)
    tolerance = {"float32": 0.0, "float16": 1e-2, "bfloat16": 5e-2}[dtype]
    for hook in HOOKS:
        assert decoded.activations[hook].dtype == torch.float32
        torch.testing.assert_close(
            decoded.activations[hook], check.activations[hook], atol=tolerance, rtol=tolerance
        )


def test_content_hash_ignores_encoding_but_not_values() -> None:
    check = make_check()
    body = encode_check(check)
    assert content_hash(decode_check(body)) == content_hash(check)
    assert content_hash(make_check(seed=1)) != content_hash(check)
    assert content_hash(make_check(step=1)) != content_hash(check)


def test_truncated_body() -> None:
    body = encode_check(make_check())
    with pytest.raises(WireFormatError, match="truncated"):
        decode_check(body[:20])
    with pytest.raises(WireFormatError, match="truncated or not a valid safetensors"):
        decode_check(body[:-10])


@pytest.mark.parametrize("body", [b"", b"hello", b'{"json": [1, 2, 3]}', b"\x00" * 64])
def test_non_safetensors_body(body: bytes) -> None:
    with pytest.raises(WireFormatError):
        decode_check(body)


def test_plain_safetensors_without_metadata() -> None:
    with pytest.raises(WireFormatError, match="no __metadata__"):
        decode_check(save({"model.layers.1": torch.zeros(2, 4)}))


def _body(tensors: dict[str, torch.Tensor], **overrides: str) -> bytes:
    metadata = {
        "emwatch_wire": "1",
        "run": "r",
        "step": "0",
        "hook_points": json.dumps(list(tensors)),
        "prompt_set_hash": "x",
        "dtype": "float32",
    }
    metadata.update(overrides)
    return save(tensors, metadata=metadata)


@pytest.mark.parametrize(
    ("tensors", "overrides", "message"),
    [
        ({"a": torch.full((2, 4), float("nan"))}, {}, "NaN or infinite"),
        ({"a": torch.full((2, 4), float("inf"))}, {}, "NaN or infinite"),
        ({"a": torch.zeros(2, 4)}, {"step": "-3"}, "step must be >= 0"),
        ({"a": torch.zeros(2, 4)}, {"step": "ten"}, "not an integer"),
        ({"a": torch.zeros(2, 4)}, {"dtype": "int8"}, "dtype 'int8' is not accepted"),
        ({"a": torch.zeros(2, 4)}, {"dtype": "float16"}, "metadata says float16"),
        ({"a": torch.zeros(2, 4)}, {"hook_points": '["b"]'}, "do not match the tensors"),
        ({"a": torch.zeros(8)}, {}, "expected \\[n_prompts, d_model\\]"),
        ({"a": torch.zeros(2, 4), "b": torch.zeros(2, 5)}, {}, "disagree"),
        ({"a": torch.zeros(2, 4)}, {"emwatch_wire": "9"}, "wire version '9'"),
    ],
)
def test_invalid_checks_are_named(
    tensors: dict[str, torch.Tensor], overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(WireFormatError, match=message):
        decode_check(_body(tensors, **overrides))


def test_int_tensor_is_refused() -> None:
    with pytest.raises(WireFormatError, match="metadata says float32"):
        decode_check(_body({"a": torch.zeros(2, 4, dtype=torch.int32)}))
