"""Forward hooks -> pooled answer-token activations per hook point.

One check runs every canary prompt through the model and, at each hooked module, averages the
output (the residual stream after that layer) over the *answer* tokens only. The prompt, the
chat template and the BOS/attention-sink position (whose norm can be 100x the rest) are
excluded. The forward stops as soon as the deepest hooked module has fired, so a check on layer
6 of 30 costs about a fifth of a forward pass. Fixed-answer canaries are tokenised and batched
once (``canary_batches``); the hooked forward itself is in ``hooked_forward``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import torch
from torch import nn

from monitor.core.canaries import CanaryPrompt, CanarySet
from monitor.trainer.canary_batches import CanaryBatches
from monitor.trainer.hooked_forward import (
    CaptureError,
    TokenizedPrompt,
    answer_token_sums,
    eval_mode,
    model_device,
    pad_prompts,
    resolve_module,
    run_hooked,
)

# Probe building reads activations with the same primitives, imported from here.
__all__ = [
    "ActivationCapture",
    "CaptureError",
    "ChatTokenizer",
    "TokenizedPrompt",
    "encode_text",
    "eval_mode",
    "generate_answer",
    "model_device",
    "pad_prompts",
    "pooled_answer_sums",
    "prompt_ids",
    "resolve_module",
    "run_hooked",
    "tokenize_answer",
]


class ChatTokenizer(Protocol):
    """The slice of a Hugging Face tokenizer that capture uses."""

    pad_token_id: int | None
    eos_token_id: int | None
    chat_template: str | None

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...

    def __call__(self, text: str, **kwargs: Any) -> Any: ...

    def decode(self, token_ids: list[int], **kwargs: Any) -> Any: ...


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
                sums[hook].append(answer_token_sums(hidden, answer).cpu())  # [b, d_model]

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
        self.pad_id = tokenizer.pad_token_id or 0
        # Fixed-answer prompts never change, so tokenise and batch them once.
        self._fixed = {
            i: tokenize_answer(tokenizer, _messages(prompt), prompt.answer)
            for i, prompt in enumerate(canaries.prompts)
            if prompt.answer is not None
        }
        self.fixed_rows = sorted(self._fixed)
        self.fixed_batches = CanaryBatches(
            [self._fixed[i] for i in self.fixed_rows], pad_id=self.pad_id, batch_size=batch_size
        )
        self.generated_rows = [i for i in range(len(canaries.prompts)) if i not in self._fixed]

    def capture(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Pooled activations ``{hook point: [n_prompts, d_model]}`` (float32, on CPU)."""
        modules = {hook: resolve_module(model, hook) for hook in self.hook_points}
        rows: list[int] = []
        sums: dict[str, list[torch.Tensor]] = {hook: [] for hook in modules}
        counts: list[torch.Tensor] = []
        with eval_mode(model), torch.inference_mode():
            if self.fixed_rows:
                for batch, hidden in self.fixed_batches.hidden_states(model, modules):
                    rows.extend(self.fixed_rows[i] for i in batch.rows)
                    counts.append(batch.answer.sum(dim=(1, 2)).cpu())  # [b]
                    for hook in modules:
                        sums[hook].append(answer_token_sums(hidden[hook], batch.answer).cpu())
            if self.generated_rows:
                rows.extend(self.generated_rows)
                generated_sums, generated_counts = pooled_answer_sums(
                    model,
                    self.hook_points,
                    [self._generate(model, i) for i in self.generated_rows],
                    pad_id=self.pad_id,
                    batch_size=self.batch_size,
                )
                counts.append(generated_counts)
                for hook in modules:
                    sums[hook].append(generated_sums[hook])
            order = torch.tensor(rows).argsort()  # batch order -> canary order
            total = torch.cat(counts)[order]  # [n]
            means = {hook: torch.cat(parts)[order] / total[:, None] for hook, parts in sums.items()}
        # Clones made outside inference mode are ordinary tensors that callers may change.
        return {hook: mean.clone() for hook, mean in means.items()}  # [n, d_model]

    def _generate(self, model: nn.Module, row: int) -> TokenizedPrompt:
        prompt = self.canaries.prompts[row]
        return generate_answer(model, self.tokenizer, _messages(prompt), self.max_new_tokens)


def _messages(prompt: CanaryPrompt) -> list[dict[str, str]]:
    return [message.model_dump() for message in prompt.messages]
