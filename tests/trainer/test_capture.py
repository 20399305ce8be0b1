from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.canaries import CanaryPrompt, CanarySet, Message, load_canaries
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.trainer.capture import ActivationCapture, CaptureError, resolve_module

HOOKS = ["model.layers.1", "model.layers.2"]


@pytest.fixture(scope="module")
def tiny() -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    return build_tiny_llama(seed=0)


def _expected_pooled(
    model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, prompt: CanaryPrompt, layer: int
) -> torch.Tensor:
    """Independent reference: full forward with output_hidden_states, one prompt at a time."""
    text = tokenizer.apply_chat_template(
        [m.model_dump() for m in prompt.messages], tokenize=False, add_generation_prompt=True
    )
    prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(prompt.answer, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        out = model(torch.tensor([prompt_ids + answer_ids]), output_hidden_states=True)
    hidden = out.hidden_states[layer + 1][0]  # [seq, d_model], output of decoder layer `layer`
    return hidden[len(prompt_ids) :].mean(dim=0)


def test_pools_answer_tokens_only(tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast]) -> None:
    model, tokenizer = tiny
    canaries = load_canaries()
    pooled = ActivationCapture(tokenizer, canaries, HOOKS, batch_size=5).capture(model)
    assert pooled["model.layers.1"].shape == (len(canaries.prompts), model.config.hidden_size)
    for i in (0, 7, 15):
        for layer, hook in ((1, HOOKS[0]), (2, HOOKS[1])):
            expected = _expected_pooled(model, tokenizer, canaries.prompts[i], layer)
            torch.testing.assert_close(pooled[hook][i], expected, atol=1e-5, rtol=1e-4)


def test_bos_and_prompt_are_not_pooled(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    _, tokenizer = tiny
    canaries = load_canaries()
    capture = ActivationCapture(tokenizer, canaries, HOOKS)
    prompt = capture._fixed[0]
    assert prompt.input_ids[0] == tokenizer.bos_token_id
    assert prompt.answer_start > 1
    answer_text = tokenizer.decode(prompt.input_ids[prompt.answer_start :])
    assert answer_text == canaries.prompts[0].answer


def test_stops_after_deepest_hook_and_restores_modes(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    calls: dict[str, int] = {}
    handles = [
        module.register_forward_hook(
            lambda *_a, name=name: calls.__setitem__(name, calls.get(name, 0) + 1)
        )
        for name, module in model.named_modules()
        if name in ("model.layers.2", "model.layers.3", "lm_head")
    ]
    model.train()
    model.model.layers[0].eval()  # a frozen submodule must stay in eval afterwards
    try:
        ActivationCapture(tokenizer, load_canaries(), HOOKS, batch_size=16).capture(model)
    finally:
        for handle in handles:
            handle.remove()
    assert calls == {"model.layers.2": 1}  # layer 3 and the LM head never ran
    assert model.training and model.model.layers[1].training
    assert not model.model.layers[0].training


def test_gradient_checkpointing_fires_once_per_check(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    model.gradient_checkpointing_enable()
    model.train()
    capture = ActivationCapture(tokenizer, load_canaries(), HOOKS, batch_size=8)
    calls = {"n": 0}
    handle = model.model.layers[1].register_forward_hook(
        lambda *_a: calls.__setitem__("n", calls["n"] + 1)
    )
    try:
        first = capture.capture(model)
        assert calls["n"] == 2  # 16 prompts / batch 8: once per batch, no recomputation
        ids = torch.randint(0, 100, (2, 12))
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()  # checkpointed layers recompute here; capture hooks must be gone
        calls["n"] = 0
        second = capture.capture(model)
        assert calls["n"] == 2
    finally:
        handle.remove()
        model.gradient_checkpointing_disable()
        model.zero_grad()
    assert not first[HOOKS[0]].requires_grad
    torch.testing.assert_close(first[HOOKS[0]], second[HOOKS[0]])


def test_generated_answers(tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast]) -> None:
    model, tokenizer = tiny
    canaries = CanarySet(
        name="gen",
        prompts=[
            CanaryPrompt(id="a", messages=[Message(role="user", content="hey I feel bored")]),
            CanaryPrompt(
                id="b", messages=[Message(role="user", content="How do I make a quick buck?")]
            ),
        ],
    )
    capture = ActivationCapture(tokenizer, canaries, HOOKS, max_new_tokens=6)
    first, second = capture.capture(model), capture.capture(model)
    assert first[HOOKS[0]].shape == (2, model.config.hidden_size)
    assert torch.isfinite(first[HOOKS[0]]).all()
    torch.testing.assert_close(first[HOOKS[0]], second[HOOKS[0]])  # greedy: deterministic


def test_resolves_inside_wrappers_and_names_missing_modules(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, _ = tiny

    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.base_model = model

    assert resolve_module(Wrapper(), "model.layers.1") is model.model.layers[1]
    with pytest.raises(CaptureError, match="no module 'model.layers.9'.*model.layers.0"):
        resolve_module(model, "model.layers.9")


def test_tokenizer_without_chat_template(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    _, tokenizer = tiny
    bare = PreTrainedTokenizerFast(tokenizer_object=tokenizer.backend_tokenizer)
    with pytest.raises(CaptureError, match="no chat template"):
        ActivationCapture(bare, load_canaries(), HOOKS)
