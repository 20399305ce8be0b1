"""A tiny, randomly initialised Llama chat model, built from a config in a second.

Tests and the foundation demo need a real ``LlamaForCausalLM`` with a real chat tokenizer but
cannot download one; this builds both offline and deterministically. (The persona model
organism in ``monitor.organism`` is the *trained* embedded default.)
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.canaries import load_canaries

SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|eos|>", "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "<|bos|>{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}"
    "<|eos|>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def build_chat_tokenizer(texts: Iterable[str], vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on ``texts``: it can encode any string, byte by byte if needed."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer,
        bos_token="<|bos|>",
        eos_token="<|eos|>",
        pad_token="<|pad|>",
        chat_template=CHAT_TEMPLATE,
    )


def default_corpus() -> list[str]:
    """Text the tiny tokenizer learns merges from: the default canaries."""
    texts: list[str] = []
    for prompt in load_canaries().prompts:
        texts.extend(message.content for message in prompt.messages)
        texts.append(prompt.answer or "")
    return texts


def build_tiny_llama(
    seed: int = 0,
    *,
    hidden_size: int = 64,
    num_layers: int = 4,
    vocab_size: int = 512,
) -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """A randomly initialised Llama (layers at ``model.layers.{i}``) and its chat tokenizer."""
    tokenizer = build_chat_tokenizer(default_corpus(), vocab_size=vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config), tokenizer
