"""One forward with hooks, stopped after the deepest hooked module, over right-padded prompts.

The primitives of capture, shared by the trainer's checks and by probe building: find a hook
point inside any wrapper, switch to eval mode and back, pad tokenised prompts with a mask of
their answer tokens, and run a forward that hands each hooked module's output to a handler.
The layers after the deepest hooked one cannot change what is kept, so they never run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


class CaptureError(RuntimeError):
    """The model or tokenizer cannot be captured as configured; the message says why."""


class _StopForward(Exception):  # noqa: N818 - control flow, not an error
    """Raised by the last hook to fire: the layers after it cannot change what we keep."""


@dataclass(frozen=True)
class TokenizedPrompt:
    input_ids: list[int]
    answer_start: int  # answer tokens are input_ids[answer_start:]


def resolve_module(model: nn.Module, path: str) -> nn.Module:
    """Find ``path`` in ``model``; also inside wrappers (PEFT, DDP) that prefix module names."""
    try:
        return model.get_submodule(path)
    except AttributeError:
        pass
    matches: list[nn.Module] = [
        module for name, module in model.named_modules() if name.endswith("." + path)
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise CaptureError(
            f"hook point {path!r} matches {len(matches)} modules; give the full module path"
        )
    layer_like = [name for name, _ in model.named_modules() if name.split(".")[-1].isdigit()]
    raise CaptureError(
        f"model has no module {path!r}; numbered modules include "
        f"{layer_like[:3]}{' …' if len(layer_like) > 3 else ''}"
    )


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode for the duration, then each submodule's own train/eval flag back as it was."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in flags:
            module.training = training


def model_device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


# -- batching and the hooked forward -----------------------------------------------------------


def pad_prompts(
    prompts: Sequence[TokenizedPrompt], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded input_ids [b, s], attention_mask [b, s] and answer weights [b, s, 1]."""
    length = max(len(p.input_ids) for p in prompts)
    input_ids = torch.full((len(prompts), length), pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), length), dtype=torch.long)
    answer = torch.zeros((len(prompts), length, 1), dtype=torch.float32)
    for row, prompt in enumerate(prompts):
        n = len(prompt.input_ids)
        input_ids[row, :n] = torch.tensor(prompt.input_ids)
        attention[row, :n] = 1
        answer[row, prompt.answer_start : n] = 1.0
    return input_ids.to(device), attention.to(device), answer.to(device)


HiddenHandler = Callable[[str, torch.Tensor], None]


def answer_token_sums(hidden: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
    """Sum of ``hidden`` [b, s, d_model] over the answer tokens (``answer`` [b, s, 1] is 1.0
    there, 0.0 elsewhere), in float32: [b, d_model]."""
    return (hidden.float() * answer).sum(dim=1)


def run_hooked(
    model: nn.Module,
    modules: Mapping[str, nn.Module],
    input_ids: torch.Tensor,
    attention: torch.Tensor,
    on_hidden: HiddenHandler,
    **forward_kwargs: Any,
) -> None:
    """One forward that hands each hooked module's output [b, s, d_model] to ``on_hidden``.

    The hooks exist only for this call (so gradient-checkpoint recomputation never fires them)
    and the forward stops once the last of them has fired. ``forward_kwargs`` go to the model
    (a KV cache and positions, when a shared prefix was computed before).
    """
    fired: set[str] = set()

    def make_hook(hook: str) -> Any:
        def hook_fn(_module: nn.Module, _inputs: Any, output: Any) -> None:
            on_hidden(hook, output[0] if isinstance(output, tuple) else output)
            fired.add(hook)
            if len(fired) == len(modules):
                raise _StopForward

        return hook_fn

    handles = [module.register_forward_hook(make_hook(hook)) for hook, module in modules.items()]
    try:
        model(
            input_ids=input_ids,
            attention_mask=attention,
            **({"use_cache": False} | forward_kwargs),
        )
    except _StopForward:
        pass
    finally:
        for handle in handles:
            handle.remove()
    if len(fired) != len(modules):
        raise CaptureError(
            f"hook points {sorted(set(modules) - fired)} never fired; are they modules on the "
            "forward path?"
        )
