"""The wire format of a check: pooled activations <-> bytes.

A check is a safetensors file, one ``[n_prompts, d_model]`` tensor per hook point (keyed by its
module path), with string metadata naming the run, the step, the hook points, the canary
prompt-set hash and the dtype, and optionally (key ``attribution``) the JSON summary of the
training samples since the last check (``monitor.core.attribution``). Both the trainer's
client and the service use this module and nothing else to read or write checks.

Decoding checks everything a check says about itself before it reads a value
(``read_header``: steps in canonical decimal within ``MAX_STEP``, a SHA-256 prompt-set hash,
shapes, dtypes and byte ranges), then reads the values in place, so a receiver holds little
more than the body itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from safetensors.torch import save

from monitor.core.attribution import AttributionError, AttributionSummary, parse_summary

WIRE_VERSION = "1"
MEDIA_TYPE = "application/octet-stream"
ACCEPTED_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
}
_SAFETENSORS_DTYPES = {"float16": "F16", "bfloat16": "BF16", "float32": "F32"}
_ITEM_SIZES = {"float16": 2, "bfloat16": 2, "float32": 4}
_METADATA_KEYS = ("emwatch_wire", "run", "step", "hook_points", "prompt_set_hash", "dtype")

# Steps are written in canonical decimal (no sign, spaces, underscores, leading zeros or
# non-ASCII digits, all of which Python's int() would take) and stay within what a JSON number
# holds exactly: 2**53 - 1.
MAX_STEP = 2**53 - 1
STEP_PATTERN = re.compile(r"0|[1-9][0-9]*")
# The SHA-256 of the canary prompts (CanarySet.content_hash), as runs are created with.
PROMPT_SET_HASH_PATTERN = re.compile(r"[0-9a-f]{64}")


class WireFormatError(ValueError):
    """A check body cannot be decoded; the message says what is wrong with it."""


@dataclass(frozen=True)
class Check:
    """One check: pooled answer-token activations of every canary prompt at every hook point."""

    run: str
    step: int
    prompt_set_hash: str
    activations: Mapping[str, torch.Tensor]  # hook point -> [n_prompts, d_model]
    attribution: AttributionSummary | None = None

    @property
    def hook_points(self) -> list[str]:
        return list(self.activations)

    @property
    def n_prompts(self) -> int:
        return int(next(iter(self.activations.values())).shape[0])

    @property
    def d_model(self) -> int:
        return int(next(iter(self.activations.values())).shape[1])


@dataclass(frozen=True)
class TensorSpec:
    """Where one hook point's tensor lies in a body: bytes [begin, end) after the header."""

    hook: str
    shape: tuple[int, int]  # [n_prompts, d_model]
    begin: int
    end: int


@dataclass(frozen=True)
class CheckHeader:
    """A check's metadata and layout, validated, before any value is read."""

    run: str
    step: int
    prompt_set_hash: str
    dtype: str
    data_start: int
    tensors: list[TensorSpec]
    attribution: AttributionSummary | None = None

    @property
    def n_prompts(self) -> int:
        return self.tensors[0].shape[0]


def encode_check(check: Check, dtype: str = "float32") -> bytes:
    """Serialise a check; ``dtype`` (float16/bfloat16/float32) trades bytes for precision."""
    if dtype not in ACCEPTED_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(ACCEPTED_DTYPES)}, not {dtype!r}")
    if not check.activations:
        raise ValueError("a check needs at least one hook point")
    if not 0 <= check.step <= MAX_STEP:
        raise ValueError(f"step must be from 0 to {MAX_STEP}, not {check.step}")
    if not PROMPT_SET_HASH_PATTERN.fullmatch(check.prompt_set_hash):
        raise ValueError("prompt_set_hash must be 64 lowercase hex characters (a SHA-256)")
    tensors = {
        hook: tensor.detach().to("cpu", ACCEPTED_DTYPES[dtype]).contiguous()
        for hook, tensor in check.activations.items()
    }
    metadata = {
        "emwatch_wire": WIRE_VERSION,
        "run": check.run,
        "step": str(check.step),
        "hook_points": json.dumps(list(tensors)),
        "prompt_set_hash": check.prompt_set_hash,
        "dtype": dtype,
    }
    if check.attribution is not None:
        metadata["attribution"] = check.attribution.to_json()
    return save(tensors, metadata=metadata)


def _read_header(data: bytes | bytearray) -> tuple[dict[str, Any], int]:
    """The safetensors JSON header and where the tensor bytes start."""
    if len(data) < 8:
        raise WireFormatError(f"body is {len(data)} bytes; a safetensors check needs at least 8")
    header_length = int.from_bytes(data[:8], "little")
    if header_length > len(data) - 8:
        raise WireFormatError(
            f"body is truncated or not safetensors: its header claims {header_length} bytes but "
            f"only {len(data) - 8} follow"
        )
    try:
        header = json.loads(bytes(data[8 : 8 + header_length]))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WireFormatError(f"body is not safetensors: header is not JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise WireFormatError("body is not safetensors: its header is not a JSON object")
    return header, 8 + header_length


def _metadata(header: dict[str, Any]) -> dict[str, str]:
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict):
        raise WireFormatError(
            "safetensors body has no __metadata__; encode it with monitor.core.wire.encode_check"
        )
    missing = [key for key in _METADATA_KEYS if key not in metadata]
    if missing:
        raise WireFormatError(f"check metadata lacks {', '.join(missing)}")
    return {str(key): str(value) for key, value in metadata.items()}


def _step(text: str) -> int:
    if not STEP_PATTERN.fullmatch(text):
        raise WireFormatError(
            f"step {text!r} is not a step: write it in plain decimal digits, with no sign, "
            f"spaces or leading zeros, from 0 to {MAX_STEP}"
        )
    if len(text) > len(str(MAX_STEP)) or int(text) > MAX_STEP:
        raise WireFormatError(f"step {text[:40]} is out of range: steps go from 0 to {MAX_STEP}")
    return int(text)


def _tensor_spec(hook: str, entry: object, dtype: str) -> TensorSpec:
    """Where one tensor lies in the body, checked against the metadata's dtype."""
    if not isinstance(entry, dict):
        raise WireFormatError(f"tensor {hook!r}: its header entry is not an object")
    if entry.get("dtype") != _SAFETENSORS_DTYPES[dtype]:
        raise WireFormatError(f"tensor {hook!r} is {entry.get('dtype')}, metadata says {dtype}")
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if (
        not isinstance(shape, list)
        or len(shape) != 2
        or not all(isinstance(n, int) and n > 0 for n in shape)
    ):
        raise WireFormatError(f"tensor {hook!r} has shape {shape}; expected [n_prompts, d_model]")
    if not (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(isinstance(o, int) and o >= 0 for o in offsets)
        and offsets[1] - offsets[0] == shape[0] * shape[1] * _ITEM_SIZES[dtype]
    ):
        raise WireFormatError(
            f"tensor {hook!r}: data_offsets {offsets} do not hold shape {shape} of {dtype}"
        )
    return TensorSpec(hook, (shape[0], shape[1]), offsets[0], offsets[1])


def read_header(data: bytes | bytearray) -> CheckHeader:
    """Parse and validate everything but the values: metadata, dtypes, shapes, byte ranges.

    Cheap (it reads the JSON header only), so a receiver can refuse a check by its size
    before it touches a single value.
    """
    header, data_start = _read_header(data)
    metadata = _metadata(header)
    if metadata["emwatch_wire"] != WIRE_VERSION:
        raise WireFormatError(
            f"wire version {metadata['emwatch_wire']!r} is not supported "
            f"(expected {WIRE_VERSION!r}); upgrade the side that is older"
        )
    dtype = metadata["dtype"]
    if dtype not in ACCEPTED_DTYPES:
        raise WireFormatError(
            f"dtype {dtype!r} is not accepted; send one of {', '.join(ACCEPTED_DTYPES)}"
        )
    step = _step(metadata["step"])
    if not PROMPT_SET_HASH_PATTERN.fullmatch(metadata["prompt_set_hash"]):
        raise WireFormatError(
            f"prompt_set_hash {metadata['prompt_set_hash'][:80]!r} is not 64 lowercase hex "
            "characters (the SHA-256 of the canary prompts, as CanarySet.content_hash gives)"
        )
    try:
        hook_points = json.loads(metadata["hook_points"])
    except json.JSONDecodeError as exc:
        raise WireFormatError("metadata hook_points is not a JSON list") from exc
    entries = {key: value for key, value in header.items() if key != "__metadata__"}
    if not isinstance(hook_points, list) or sorted(map(str, hook_points)) != sorted(entries):
        raise WireFormatError(
            f"metadata hook_points {hook_points} do not match the tensors {sorted(entries)}"
        )
    if not entries:
        raise WireFormatError("check holds no activations")
    tensors = [_tensor_spec(str(hook), entries[str(hook)], dtype) for hook in hook_points]
    shapes = sorted({spec.shape for spec in tensors})
    if len(shapes) != 1:
        raise WireFormatError(f"hook points disagree on [n_prompts, d_model]: {shapes}")
    if data_start % 8:
        raise WireFormatError(
            "body is not a valid safetensors file: its header is not padded to 8 bytes"
        )
    expected_begin = 0
    for begin, end in sorted((spec.begin, spec.end) for spec in tensors):
        if begin != expected_begin:
            raise WireFormatError(
                "body is not a valid safetensors file: its tensors overlap or leave gaps"
            )
        expected_begin = end
    if data_start + expected_begin != len(data):
        raise WireFormatError(
            f"body is truncated or not a valid safetensors file: its tensors need "
            f"{data_start + expected_begin} bytes, the body has {len(data)}"
        )
    attribution = None
    if "attribution" in metadata:
        try:
            attribution = parse_summary(metadata["attribution"])
        except AttributionError as exc:
            raise WireFormatError(str(exc)) from exc
    return CheckHeader(
        metadata["run"], step, metadata["prompt_set_hash"], dtype, data_start, tensors, attribution
    )


def decode_check(data: bytes | bytearray) -> Check:
    """Parse and validate a check body.

    Activations come back in the dtype they were sent in, as views into ``data`` (pass a
    ``bytearray`` and nothing is copied; ``bytes`` are copied once, as torch only views
    writable memory). Scoring converts them to float32 one hook point at a time.
    """
    header = read_header(data)
    buffer = data if isinstance(data, bytearray) else bytearray(data)
    torch_dtype = ACCEPTED_DTYPES[header.dtype]
    activations: dict[str, torch.Tensor] = {}
    for spec in header.tensors:
        count = spec.shape[0] * spec.shape[1]
        offset = header.data_start + spec.begin
        flat = torch.frombuffer(buffer, dtype=torch_dtype, count=count, offset=offset)
        tensor = flat.view(spec.shape)  # [n_prompts, d_model]
        low, high = torch.aminmax(tensor)  # no temporary the size of the tensor
        if not (math.isfinite(float(low)) and math.isfinite(float(high))):
            raise WireFormatError(f"tensor {spec.hook!r} holds NaN or infinite values")
        activations[spec.hook] = tensor
    return Check(header.run, header.step, header.prompt_set_hash, activations, header.attribution)


def content_hash(check: Check) -> str:
    """Hash of what a check says, independent of how it was serialised.

    Two bodies with the same run, step, prompt set and float32 values hash alike, so a replayed
    check is recognised as a duplicate even if another client version encoded it.
    """
    digest = hashlib.sha256()
    digest.update(f"{check.run}\0{check.step}\0{check.prompt_set_hash}\0".encode())
    for hook in sorted(check.activations):
        # One hook point at a time, hashed in place: float32 values are not copied at all.
        tensor = check.activations[hook].detach().to("cpu", torch.float32).contiguous()
        digest.update(f"{hook}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.numpy().data)
    return digest.hexdigest()
