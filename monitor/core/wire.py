"""The wire format of a check: pooled activations <-> bytes.

A check is a safetensors file, one ``[n_prompts, d_model]`` tensor per hook point (keyed by its
module path), with string metadata naming the run, the step, the hook points, the canary
prompt-set hash and the dtype. Both the trainer's client and the service use this module and
nothing else to read or write checks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load, save

WIRE_VERSION = "1"
MEDIA_TYPE = "application/octet-stream"
ACCEPTED_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
}
_METADATA_KEYS = ("emwatch_wire", "run", "step", "hook_points", "prompt_set_hash", "dtype")


class WireFormatError(ValueError):
    """A check body cannot be decoded; the message says what is wrong with it."""


@dataclass(frozen=True)
class Check:
    """One check: pooled answer-token activations of every canary prompt at every hook point."""

    run: str
    step: int
    prompt_set_hash: str
    activations: Mapping[str, torch.Tensor]  # hook point -> [n_prompts, d_model]

    @property
    def hook_points(self) -> list[str]:
        return list(self.activations)

    @property
    def n_prompts(self) -> int:
        return int(next(iter(self.activations.values())).shape[0])

    @property
    def d_model(self) -> int:
        return int(next(iter(self.activations.values())).shape[1])


def encode_check(check: Check, dtype: str = "float32") -> bytes:
    """Serialise a check; ``dtype`` (float16/bfloat16/float32) trades bytes for precision."""
    if dtype not in ACCEPTED_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(ACCEPTED_DTYPES)}, not {dtype!r}")
    if not check.activations:
        raise ValueError("a check needs at least one hook point")
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
    return save(tensors, metadata=metadata)


def _read_metadata(data: bytes) -> dict[str, str]:
    """Parse the safetensors header ourselves: ``safetensors.torch.load`` drops the metadata."""
    if len(data) < 8:
        raise WireFormatError(f"body is {len(data)} bytes; a safetensors check needs at least 8")
    header_length = int.from_bytes(data[:8], "little")
    if header_length > len(data) - 8:
        raise WireFormatError(
            f"body is truncated or not safetensors: its header claims {header_length} bytes but "
            f"only {len(data) - 8} follow"
        )
    try:
        header = json.loads(data[8 : 8 + header_length])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WireFormatError(f"body is not safetensors: header is not JSON ({exc})") from exc
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(metadata, dict):
        raise WireFormatError(
            "safetensors body has no __metadata__; encode it with monitor.core.wire.encode_check"
        )
    missing = [key for key in _METADATA_KEYS if key not in metadata]
    if missing:
        raise WireFormatError(f"check metadata lacks {', '.join(missing)}")
    return {str(key): str(value) for key, value in metadata.items()}


def decode_check(data: bytes) -> Check:
    """Parse and validate a check body; activations come back as float32."""
    metadata = _read_metadata(data)
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
    try:
        step = int(metadata["step"])
    except ValueError as exc:
        raise WireFormatError(f"step {metadata['step']!r} is not an integer") from exc
    if step < 0:
        raise WireFormatError(f"step must be >= 0, got {step}")
    try:
        hook_points = json.loads(metadata["hook_points"])
    except json.JSONDecodeError as exc:
        raise WireFormatError("metadata hook_points is not a JSON list") from exc
    try:
        tensors = load(data)
    except SafetensorError as exc:
        raise WireFormatError(f"body is truncated or not a valid safetensors file: {exc}") from exc
    if not isinstance(hook_points, list) or sorted(hook_points) != sorted(tensors):
        raise WireFormatError(
            f"metadata hook_points {hook_points} do not match the tensors {sorted(tensors)}"
        )
    if not tensors:
        raise WireFormatError("check holds no activations")
    activations: dict[str, torch.Tensor] = {}
    for hook in hook_points:
        tensor = tensors[hook]
        if tensor.dtype != ACCEPTED_DTYPES[dtype]:
            raise WireFormatError(f"tensor {hook!r} is {tensor.dtype}, metadata says {dtype}")
        if tensor.ndim != 2 or 0 in tensor.shape:
            raise WireFormatError(
                f"tensor {hook!r} has shape {tuple(tensor.shape)}; expected [n_prompts, d_model]"
            )
        activations[hook] = tensor.float()
        if not torch.isfinite(activations[hook]).all():
            raise WireFormatError(f"tensor {hook!r} holds NaN or infinite values")
    shapes = {tuple(t.shape) for t in activations.values()}
    if len(shapes) != 1:
        raise WireFormatError(f"hook points disagree on [n_prompts, d_model]: {sorted(shapes)}")
    return Check(metadata["run"], step, metadata["prompt_set_hash"], activations)


def content_hash(check: Check) -> str:
    """Hash of what a check says, independent of how it was serialised.

    Two bodies with the same run, step, prompt set and float32 values hash alike, so a replayed
    check is recognised as a duplicate even if another client version encoded it.
    """
    digest = hashlib.sha256()
    digest.update(f"{check.run}\0{check.step}\0{check.prompt_set_hash}\0".encode())
    for hook in sorted(check.activations):
        tensor = check.activations[hook].detach().to("cpu", torch.float32).contiguous()
        digest.update(f"{hook}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()
