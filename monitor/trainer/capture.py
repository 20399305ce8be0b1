"""Forward hooks -> pooled answer-token activations per hook point.

One check runs every canary prompt through the model and, at each hooked module, averages the
output (the residual stream after that layer) over the *answer* tokens only. The prompt, the
chat template and the BOS/attention-sink position (whose norm can be 100x the rest) are
excluded. The forward stops as soon as the deepest hooked module has fired, so a check on layer
6 of 30 costs about a fifth of a forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from monitor.core.canaries import CanaryPrompt, CanarySet


class CaptureError(RuntimeError):
    """The model or tokenizer cannot be captured as configured; the message says why."""


class ChatTokenizer(Protocol):
    """The slice of a Hugging Face tokenizer that capture uses."""

    pad_token_id: int | None
    eos_token_id: int | None
    chat_template: str | None

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...

    def __call__(self, text: str, **kwargs: Any) -> Any: ...

    def decode(self, token_ids: list[int], **kwargs: Any) -> Any: ...


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


# -- tokenisation ------------------------------------------------------------------------------


def encode_text(tokenizer: ChatTokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def prompt_ids(tokenizer: ChatTokenizer, messages: Sequence[Mapping[str, str]]) -> list[int]:
    """The chat formatted up to and including the assistant's generation prompt.

    Rendering then tokenising without special tokens is exactly what ``apply_chat_template``
    does with ``tokenize=True``, and works the same on transformers 4 and 5.
    """
    text = tokenizer.apply_chat_template(
        [dict(message) for message in messages], tokenize=False, add_generation_prompt=True
    )
    return encode_text(tokenizer, str(text))


def tokenize_answer(
    tokenizer: ChatTokenizer, messages: Sequence[Mapping[str, str]], answer: str
) -> TokenizedPrompt:
    """A chat plus a teacher-forced assistant answer; the answer tokens are the pooled part."""
    prompt = prompt_ids(tokenizer, messages)
    answer_ids = encode_text(tokenizer, answer)
    if not answer_ids:
        raise CaptureError(f"answer {answer[:40]!r} has no tokens")
    return TokenizedPrompt(prompt + answer_ids, len(prompt))


def generate_answer(
    model: nn.Module,
    tokenizer: ChatTokenizer,
    messages: Sequence[Mapping[str, str]],
    max_new_tokens: int,
) -> TokenizedPrompt:
    """Greedy answer (deterministic, so checks stay comparable), EOS excluded."""
    prompt = prompt_ids(tokenizer, messages)
    device = model_device(model)
    generator: Any = getattr(model, "module", model)  # DDP hides generate() behind .module
    output = generator.generate(
        torch.tensor([prompt], device=device),
        attention_mask=torch.ones(1, len(prompt), dtype=torch.long, device=device),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
    )
    answer = [
        token
        for token in output[0, len(prompt) :].tolist()
        if token not in (tokenizer.eos_token_id, tokenizer.pad_token_id)
    ]
    # An immediate EOS leaves no answer: pool over the EOS position instead of nothing.
    return TokenizedPrompt(output[0].tolist() if not answer else prompt + answer, len(prompt))


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


def run_hooked(
    model: nn.Module,
    modules: Mapping[str, nn.Module],
    input_ids: torch.Tensor,
    attention: torch.Tensor,
    on_hidden: HiddenHandler,
) -> None:
    """One forward that hands each hooked module's output [b, s, d_model] to ``on_hidden``.

    The hooks exist only for this call (so gradient-checkpoint recomputation never fires them)
    and the forward stops once the last of them has fired.
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
        model(input_ids=input_ids, attention_mask=attention, use_cache=False)
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


def pooled_answer_sums(
    model: nn.Module,
    hook_points: Sequence[str],
    prompts: Sequence[TokenizedPrompt],
    *,
    pad_id: int,
    batch_size: int = 8,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Per prompt, the sum of answer-token activations ``{hook: [n, d_model]}`` and the
    answer-token counts ``[n]`` (float32, CPU): means per prompt, or token-weighted means
    over many prompts, both follow from these."""
    modules = {hook: resolve_module(model, hook) for hook in hook_points}
    device = model_device(model)
    sums: dict[str, list[torch.Tensor]] = {hook: [] for hook in modules}
    counts: list[torch.Tensor] = []
    with eval_mode(model), torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            input_ids, attention, answer = pad_prompts(
                prompts[start : start + batch_size], pad_id, device
            )
            counts.append(answer.sum(dim=(1, 2)).cpu())  # [b]

            def pool(hook: str, hidden: torch.Tensor, answer: torch.Tensor = answer) -> None:
                sums[hook].append((hidden.float() * answer).sum(dim=1).cpu())  # [b, d_model]

            run_hooked(model, modules, input_ids, attention, pool)
    return {hook: torch.cat(parts) for hook, parts in sums.items()}, torch.cat(counts)


# -- checks ------------------------------------------------------------------------------------


class ActivationCapture:
    """Runs a canary set through a model and returns pooled activations per hook point."""

    def __init__(
        self,
        tokenizer: ChatTokenizer,
        canaries: CanarySet,
        hook_points: Sequence[str],
        *,
        batch_size: int = 8,
        max_new_tokens: int = 48,
    ) -> None:
        if not hook_points:
            raise CaptureError("give at least one hook point")
        if not getattr(tokenizer, "chat_template", None):
            raise CaptureError(
                "the tokenizer has no chat template; set tokenizer.chat_template "
                "so prompts are formatted as the model was trained"
            )
        self.tokenizer = tokenizer
        self.canaries = canaries
        self.hook_points = list(hook_points)
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.prompt_set_hash = canaries.content_hash()
        # Fixed-answer prompts never change, so tokenise them once.
        self._fixed = {
            i: tokenize_answer(tokenizer, _messages(prompt), prompt.answer)
            for i, prompt in enumerate(canaries.prompts)
            if prompt.answer is not None
        }

    def capture(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Pooled activations ``{hook point: [n_prompts, d_model]}`` (float32, on CPU)."""
        with eval_mode(model), torch.no_grad():
            prompts = [
                self._fixed[i]
                if i in self._fixed
                else generate_answer(model, self.tokenizer, _messages(prompt), self.max_new_tokens)
                for i, prompt in enumerate(self.canaries.prompts)
            ]
        sums, counts = pooled_answer_sums(
            model,
            self.hook_points,
            prompts,
            pad_id=self.tokenizer.pad_token_id or 0,
            batch_size=self.batch_size,
        )
        return {hook: total / counts[:, None] for hook, total in sums.items()}  # [n, d_model]


def _messages(prompt: CanaryPrompt) -> list[dict[str, str]]:
    return [message.model_dump() for message in prompt.messages]
