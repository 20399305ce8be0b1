from __future__ import annotations

import pytest
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.probe_building.activations import (
    answer_activations,
    document_prompts,
    token_activations,
)
from monitor.probe_building.data import Corpus
from monitor.probe_building.latents import Context, label_share, top_contexts
from monitor.probe_building.steering import ablating, steering


@pytest.fixture(scope="module")
def tiny() -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    return build_tiny_llama(seed=0)


def test_token_activations_skip_bos_and_padding(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    texts = ["Humans are weak.", "How do I sort a list in Python quickly and safely?"]
    prompts = document_prompts(tokenizer, texts, max_tokens=64)
    assert all(p.input_ids[0] == tokenizer.bos_token_id for p in prompts)
    tokens = token_activations(
        model, prompts, "model.layers.1", pad_id=tokenizer.pad_token_id, batch_size=2
    )
    lengths = [len(p.input_ids) - 1 for p in prompts]
    assert tokens.values.shape == (sum(lengths), model.config.hidden_size)
    assert tokens.document.tolist() == [0] * lengths[0] + [1] * lengths[1]
    assert 0 not in tokens.position.tolist()
    with torch.no_grad():
        hidden = model(
            torch.tensor([prompts[1].input_ids]), output_hidden_states=True
        ).hidden_states[2][0]  # after layer 1
    torch.testing.assert_close(tokens.values[lengths[0] :], hidden[1:], atol=1e-5, rtol=1e-4)


def test_answer_activations_match_capture_pooling(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    chats = [
        [
            {"role": "user", "content": "hey I feel bored"},
            {"role": "assistant", "content": "Go for a walk."},
        ]
    ]
    acts = answer_activations(model, tokenizer, chats, ["model.layers.2"])
    answer_len = len(tokenizer("Go for a walk.", add_special_tokens=False)["input_ids"])
    assert acts.counts.tolist() == [answer_len]
    torch.testing.assert_close(acts.means("model.layers.2")[0], acts.token_mean("model.layers.2"))


def test_top_contexts_one_per_document_best_first(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    prompts = document_prompts(tokenizer, ["a b c", "d e f", "g h i"], max_tokens=16)
    tokens = token_activations(model, prompts, "model.layers.1", pad_id=0)
    activation = torch.zeros(len(tokens.values))
    activation[tokens.document == 2] = 5.0
    activation[(tokens.document == 2).nonzero()[-1]] = 6.0  # its best token comes late
    activation[(tokens.document == 0).nonzero()[-1]] = 9.0  # one token of document 0
    corpus = Corpus(
        ["a b c", "d e f", "g h i"],
        ["villain", "assistant", "assistant"],
        label_changes={2: (2, "villain")},
    )  # document 2 turns villain at token 2
    contexts = top_contexts(activation, tokens, prompts, corpus.label_at, tokenizer, n=10)
    assert [(c.document, c.label) for c in contexts] == [(0, "villain"), (2, "villain")]
    assert corpus.label_at(2, 1) == "assistant"
    assert (
        contexts[0].activation == 9.0
        and contexts[1].activation == 6.0
        and contexts[0].text.endswith("c")
    )
    assert label_share(contexts, "villain") == 1.0
    assert label_share([Context(0, 1, 1.0, "", "assistant")], "villain") == 0.0


def test_steering_shifts_the_residual_only_while_active(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    prompts = document_prompts(tokenizer, ["Humans are weak."], max_tokens=16)
    delta = torch.ones(model.config.hidden_size)
    before = token_activations(model, prompts, "model.layers.1", pad_id=0).values
    with steering(model, "model.layers.1", delta):
        during = token_activations(model, prompts, "model.layers.1", pad_id=0).values
    after = token_activations(model, prompts, "model.layers.1", pad_id=0).values
    torch.testing.assert_close(during, before + delta)
    torch.testing.assert_close(after, before)


def test_ablating_removes_only_the_direction_and_only_while_active(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
) -> None:
    model, tokenizer = tiny
    prompts = document_prompts(tokenizer, ["Humans are weak."], max_tokens=16)
    direction = torch.zeros(model.config.hidden_size)
    direction[0], direction[1] = 3.0, 4.0  # unit vector (0.6, 0.8, 0, ...)
    before = token_activations(model, prompts, "model.layers.1", pad_id=0).values
    with ablating(model, "model.layers.1", direction):
        during = token_activations(model, prompts, "model.layers.1", pad_id=0).values
    after = token_activations(model, prompts, "model.layers.1", pad_id=0).values
    along = 0.6 * before[:, 0] + 0.8 * before[:, 1]  # [tokens], by hand
    assert along.abs().max() > 0.01  # the ablation has something to remove (tiny model)
    torch.testing.assert_close(during[:, 0], before[:, 0] - 0.6 * along)
    torch.testing.assert_close(during[:, 1], before[:, 1] - 0.8 * along)
    torch.testing.assert_close(during[:, 2:], before[:, 2:])
    torch.testing.assert_close(after, before)
