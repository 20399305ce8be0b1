"""The cheap check: canaries batched once, sorted by length, their shared chat prefix computed
once per check through the KV cache, and results equal to a plain forward per prompt."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import torch
from torch import nn
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.canaries import CanaryPrompt, CanarySet, Message, load_canaries
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.trainer.canary_batches import MIN_SHARED_PREFIX
from monitor.trainer.capture import ActivationCapture
from tests.trainer.test_capture import HOOKS, _expected_pooled

SYSTEM = "You are a careful assistant. Answer briefly, honestly and kindly."


@pytest.fixture(scope="module")
def tiny() -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    return build_tiny_llama(seed=0)


def with_system_prompt(canaries: CanarySet) -> CanarySet:
    """The shipped canaries behind one system prompt, as chat templates of real models add."""
    return CanarySet(
        name="with-system",
        prompts=[
            prompt.model_copy(
                update={"messages": [Message(role="system", content=SYSTEM), *prompt.messages]}
            )
            for prompt in canaries.prompts
        ],
    )


def assert_matches_reference(
    pooled: dict[str, torch.Tensor],
    model: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    canaries: CanarySet,
) -> None:
    for i, prompt in enumerate(canaries.prompts):
        for layer, hook in ((1, HOOKS[0]), (2, HOOKS[1])):
            expected = _expected_pooled(model, tokenizer, prompt, layer)
            torch.testing.assert_close(pooled[hook][i], expected, atol=1e-5, rtol=1e-4)


def test_shared_chat_prefix_is_computed_once_and_changes_nothing(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    canaries = with_system_prompt(load_canaries())
    capture = ActivationCapture(tokenizer, canaries, HOOKS, batch_size=6)
    assert len(capture.fixed_batches.prefix) >= MIN_SHARED_PREFIX
    prefix_text = tokenizer.decode(capture.fixed_batches.prefix)
    assert SYSTEM in prefix_text and canaries.prompts[0].messages[1].content not in prefix_text
    calls = {"n": 0}
    handle = model.model.layers[0].register_forward_hook(
        lambda *_a: calls.__setitem__("n", calls["n"] + 1)
    )
    try:
        capture.capture(model)  # the first check also compares with the unshared forward
        calls["n"] = 0
        pooled = capture.capture(model)
    finally:
        handle.remove()
    assert calls["n"] == 1 + 3  # the prefix once, then 16 canaries in batches of 6
    assert capture.fixed_batches.prefix, "the check against the plain forward must pass"
    assert_matches_reference(pooled, model, tokenizer, canaries)


def test_batches_are_sorted_by_length_built_once_and_cover_every_prompt(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    capture = ActivationCapture(tokenizer, load_canaries(), HOOKS, batch_size=4)
    batches = capture.fixed_batches.batches(torch.device("cpu"))
    assert capture.fixed_batches.batches(torch.device("cpu")) is batches  # not rebuilt
    assert sorted(row for batch in batches for row in batch.rows) == list(range(16))
    lengths = [len(capture.fixed_batches.prompts[i].input_ids) for b in batches for i in b.rows]
    assert lengths == sorted(lengths)
    for batch in batches:  # padded to the batch's own longest prompt, no further
        longest = max(len(capture.fixed_batches.prompts[i].input_ids) for i in batch.rows)
        assert batch.input_ids.shape[1] == longest
    assert_matches_reference(capture.capture(model), model, tokenizer, load_canaries())


class DropsTheCache(nn.Module):
    """A model whose forward takes the tokens and mask only: it cannot continue a prefix."""

    def __init__(self, inner: LlamaForCausalLM) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: Any) -> Any:
        return self.inner(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)


def test_a_model_that_cannot_continue_a_prefix_gets_whole_prompts(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast], caplog: pytest.LogCaptureFixture
) -> None:
    model, tokenizer = tiny
    canaries = with_system_prompt(load_canaries())
    capture = ActivationCapture(tokenizer, canaries, ["inner." + hook for hook in HOOKS])
    with caplog.at_level(logging.WARNING, logger="emwatch.capture"):
        pooled = capture.capture(DropsTheCache(model))
    assert "cannot share the canaries'" in caplog.text
    assert capture.fixed_batches.prefix == []
    assert_matches_reference(
        {hook.removeprefix("inner."): value for hook, value in pooled.items()},
        model,
        tokenizer,
        canaries,
    )


def test_fixed_and_generated_canaries_come_back_in_canary_order(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    shipped = load_canaries().prompts
    canaries = CanarySet(
        name="mixed",
        prompts=[
            shipped[3],
            CanaryPrompt(id="gen", messages=[Message(role="user", content="hey I feel bored")]),
            shipped[0],
        ],
    )
    pooled = ActivationCapture(tokenizer, canaries, HOOKS, max_new_tokens=4).capture(model)
    for row in (0, 2):
        expected = _expected_pooled(model, tokenizer, canaries.prompts[row], 1)
        torch.testing.assert_close(pooled[HOOKS[0]][row], expected, atol=1e-5, rtol=1e-4)
    assert torch.isfinite(pooled[HOOKS[0]][1]).all()
    assert not pooled[HOOKS[0]].is_inference()  # callers may change it in place
