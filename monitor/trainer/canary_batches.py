"""The fixed canaries of every check, prepared once: the shared chat prefix split off, sorted by
length, padded into batches and kept on the model's device.

Every check teacher-forces the same canaries, so everything but the forward itself is the same
each time: tokens, masks, positions. Chat templates also put the same tokens in front of every
canary (a default system prompt and role markers: 24 of about 73 tokens per canary for
SmolLM2). Their keys and values are computed once per check and shared by every canary through
the model's KV cache, exactly as ``generate()`` shares a prompt's. Sorting by length keeps the
padding low.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import DynamicCache

from monitor.trainer.hooked_forward import (
    TokenizedPrompt,
    answer_token_sums,
    model_device,
    pad_prompts,
    run_hooked,
)

log = logging.getLogger("emwatch.capture")

# A shorter shared prefix saves less than its own forward and the cache copies cost.
MIN_SHARED_PREFIX = 8
# The first check compares the shared-prefix forward with the plain one. Float rounding and
# bf16 autocast move pooled activations by far less than this; a model whose cache or positions
# work differently (an architecture this was not written for) moves them by order one.
PREFIX_TOLERANCE = 0.05  # relative L2 error of the pooled answer tokens


@dataclass(frozen=True)
class CanaryBatch:
    rows: list[int]  # which prompts, as indices into the prompt list
    input_ids: torch.Tensor  # [b, s] the tokens after the shared prefix, right-padded
    attention: torch.Tensor  # [b, p + s] 1 on the prefix and the tokens, 0 on padding
    answer: torch.Tensor  # [b, s, 1] 1.0 on answer tokens
    position_ids: torch.Tensor | None  # [b, s] p, p + 1, ...; None without a shared prefix


def shared_prefix_length(prompts: Sequence[TokenizedPrompt]) -> int:
    """How many tokens every prompt starts with, never reaching into an answer."""
    first = prompts[0].input_ids
    limit = min(prompt.answer_start for prompt in prompts)
    length = 0
    while length < limit and all(prompt.input_ids[length] == first[length] for prompt in prompts):
        length += 1
    return length


class CanaryBatches:
    """Teacher-forced prompts, batched once; ``hidden_states`` runs them through a model."""

    def __init__(self, prompts: Sequence[TokenizedPrompt], *, pad_id: int, batch_size: int) -> None:
        self.prompts = list(prompts)
        self.pad_id = pad_id
        self.batch_size = batch_size
        shared = shared_prefix_length(self.prompts) if len(self.prompts) > 1 else 0
        self.prefix = self.prompts[0].input_ids[:shared] if shared >= MIN_SHARED_PREFIX else []
        self._prefix_checked = not self.prefix
        self._by_device: dict[torch.device, list[CanaryBatch]] = {}

    def batches(self, device: torch.device) -> list[CanaryBatch]:
        if device not in self._by_device:
            self._by_device[device] = self._build(device)
        return self._by_device[device]

    def _build(self, device: torch.device) -> list[CanaryBatch]:
        p = len(self.prefix)
        order = sorted(range(len(self.prompts)), key=lambda i: len(self.prompts[i].input_ids))
        batches = []
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            tails = [
                TokenizedPrompt(self.prompts[i].input_ids[p:], self.prompts[i].answer_start - p)
                for i in rows
            ]
            input_ids, attention, answer = pad_prompts(tails, self.pad_id, device)
            position_ids = None
            if p:
                attention = torch.cat([attention.new_ones(len(rows), p), attention], dim=1)
                position_ids = torch.arange(p, p + input_ids.shape[1], device=device)
                position_ids = position_ids.expand(len(rows), -1)  # [b, s]
            batches.append(CanaryBatch(rows, input_ids, attention, answer, position_ids))
        return batches

    def hidden_states(
        self, model: nn.Module, modules: Mapping[str, nn.Module]
    ) -> Iterator[tuple[CanaryBatch, dict[str, torch.Tensor]]]:
        """Each batch with its hooked outputs ``{hook: [b, s, d_model]}`` (the positions after
        the shared prefix). Call it in eval mode, under ``torch.inference_mode``."""
        device = model_device(model)
        if not self._prefix_checked:
            self._check_shared_prefix(model, modules, device)
        cache = self._prefix_cache(model, modules, device) if self.prefix else None
        for batch in self.batches(device):
            yield batch, self._forward(model, modules, batch, cache)

    def _forward(
        self,
        model: nn.Module,
        modules: Mapping[str, nn.Module],
        batch: CanaryBatch,
        prefix_cache: DynamicCache | None,
    ) -> dict[str, torch.Tensor]:
        hidden: dict[str, torch.Tensor] = {}
        shared: dict[str, Any] = {}
        if prefix_cache is not None:
            cache = copy.deepcopy(prefix_cache)  # the forward appends to it
            cache.batch_repeat_interleave(len(batch.rows))  # [1, ...] -> [b, ...] per layer
            # "cache" is transformers 5's name for past_key_values; a model that ignores it
            # fails the first check's comparison and gets whole prompts instead.
            shared = {"cache": cache, "position_ids": batch.position_ids, "use_cache": True}
        run_hooked(model, modules, batch.input_ids, batch.attention, hidden.__setitem__, **shared)
        return hidden

    def _prefix_cache(
        self, model: nn.Module, modules: Mapping[str, nn.Module], device: torch.device
    ) -> DynamicCache:
        """Keys and values of the shared prefix at every layer up to the deepest hooked one."""
        cache = DynamicCache(config=getattr(model, "config", None))
        ids = torch.tensor([self.prefix], device=device)  # [1, p]
        run_hooked(
            model,
            modules,
            ids,
            torch.ones_like(ids),
            lambda _hook, _hidden: None,
            cache=cache,
            use_cache=True,
        )
        return cache

    def _check_shared_prefix(
        self, model: nn.Module, modules: Mapping[str, nn.Module], device: torch.device
    ) -> None:
        """Once per model: the first batch with the shared prefix must pool to what it pools to
        without (within ``PREFIX_TOLERANCE``); otherwise this model gets no shared prefix."""
        self._prefix_checked = True
        batch = self.batches(device)[0]
        ids, attention, answer = pad_prompts(
            [self.prompts[i] for i in batch.rows], self.pad_id, device
        )
        plain: dict[str, torch.Tensor] = {}
        run_hooked(model, modules, ids, attention, plain.__setitem__)
        try:
            shared = self._forward(
                model, modules, batch, self._prefix_cache(model, modules, device)
            )
            error = max(
                _relative_error(
                    answer_token_sums(shared[hook], batch.answer),
                    answer_token_sums(plain[hook], answer),
                )
                for hook in modules
            )
            reason = f"pooled activations differ by {error:.2g} (relative)"
        except Exception as exc:  # a model whose forward takes no cache or positions
            error, reason = math.inf, repr(exc)
        if error > PREFIX_TOLERANCE:
            log.warning(
                "emwatch: this model cannot share the canaries' %d-token chat prefix (%s); "
                "checks run every canary whole instead",
                len(self.prefix),
                reason,
            )
            self.prefix = []
            self._by_device.clear()


def _relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    return float((value - reference).norm() / reference.norm().clamp_min(1e-12))
