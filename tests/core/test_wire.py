from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save

from monitor.core.wire import (
    ACCEPTED_DTYPES,
    MAX_STEP,
    Check,
    WireFormatError,
    content_hash,
    decode_check,
    encode_check,
    read_header,
)
from tests.factories import HOOKS, make_check


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_round_trip(dtype: str) -> None:
    check = make_check(step=40)
    decoded = decode_check(encode_check(check, dtype=dtype))
    assert (decoded.run, decoded.step, decoded.prompt_set_hash) == ("run-1", 40, "c" * 64)
    assert decoded.hook_points == list(HOOKS)
    tolerance = {"float32": 0.0, "float16": 1e-2, "bfloat16": 5e-2}[dtype]
    for hook in HOOKS:
        assert decoded.activations[hook].dtype == ACCEPTED_DTYPES[dtype]  # as sent, not copied
        torch.testing.assert_close(
            decoded.activations[hook].float(),
            check.activations[hook],
            atol=tolerance,
            rtol=tolerance,
        )


def test_a_bytearray_body_is_read_in_place() -> None:
    body = bytearray(encode_check(make_check(step=40)))
    decoded = decode_check(body)
    header = read_header(body)
    first = header.tensors[0]
    body[header.data_start + first.begin : header.data_start + first.begin + 4] = bytes(4)
    assert decoded.activations[first.hook][0, 0] == 0.0  # the tensor is a view of the body
    assert header.n_prompts == 6


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
    with pytest.raises(WireFormatError, match="truncated or not a valid safetensors"):
        decode_check(body + b"\0" * 4)


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
        "prompt_set_hash": "c" * 64,
        "dtype": "float32",
    }
    metadata.update(overrides)
    return save(tensors, metadata=metadata)


@pytest.mark.parametrize(
    ("tensors", "overrides", "message"),
    [
        ({"a": torch.full((2, 4), float("nan"))}, {}, "NaN or infinite"),
        ({"a": torch.full((2, 4), float("inf"))}, {}, "NaN or infinite"),
        ({"a": torch.zeros(2, 4)}, {"step": "-3"}, "no sign"),
        ({"a": torch.zeros(2, 4)}, {"step": "ten"}, "plain decimal digits"),
        # Python's int() takes all of these; the wire takes canonical decimal only.
        ({"a": torch.zeros(2, 4)}, {"step": "\u0663"}, "plain decimal digits"),
        ({"a": torch.zeros(2, 4)}, {"step": "3_0"}, "plain decimal digits"),
        ({"a": torch.zeros(2, 4)}, {"step": " 40 "}, "plain decimal digits"),
        ({"a": torch.zeros(2, 4)}, {"step": "040"}, "leading zeros"),
        ({"a": torch.zeros(2, 4)}, {"step": str(2**63)}, "out of range"),
        ({"a": torch.zeros(2, 4)}, {"step": "9" * 10_000}, "out of range"),
        ({"a": torch.zeros(2, 4)}, {"step": str(MAX_STEP + 1)}, "out of range"),
        ({"a": torch.zeros(2, 4)}, {"prompt_set_hash": "c" * 65}, "64 lowercase hex"),
        ({"a": torch.zeros(2, 4)}, {"prompt_set_hash": "c" * 63 + "\0"}, "64 lowercase hex"),
        ({"a": torch.zeros(2, 4)}, {"prompt_set_hash": "x" * 10_000}, "64 lowercase hex"),
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


def test_the_largest_step_round_trips() -> None:
    assert decode_check(encode_check(make_check(step=MAX_STEP))).step == MAX_STEP


@pytest.mark.parametrize(
    ("step", "prompt_set_hash", "message"),
    [(MAX_STEP + 1, "c" * 64, "step must be from 0"), (0, "p" * 64, "64 lowercase hex")],
)
def test_the_sender_refuses_what_the_receiver_would(
    step: int, prompt_set_hash: str, message: str
) -> None:
    check = make_check()
    bad = Check(check.run, step, prompt_set_hash, check.activations)
    with pytest.raises(ValueError, match=message):
        encode_check(bad)
