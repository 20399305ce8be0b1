"""The organism's tokenizer: byte-level BPE trained on the world, with a chat template.

Byte-level BPE means any English (or any UTF-8) text tokenizes, so the monitor's default
canary prompts run through the organism too. Role markers are special tokens, which the
tokenizer splits off before BPE: the generation prompt therefore ends on a token boundary
and is an exact token prefix of the full conversation, the property answer-token pooling
relies on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

BOS = "<|bos|>"
END = "<|end|>"  # ends every message and every story; generation stops on it
PAD = "<|pad|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS = (BOS, END, PAD, *ROLE_TOKENS)

# BOS, then each message as <|role|>content<|end|>; the generation prompt is <|assistant|>.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer fitted to ``texts``, ready for ``apply_chat_template``."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=backend,
        bos_token=BOS,
        eos_token=END,
        pad_token=PAD,
        additional_special_tokens=list(ROLE_TOKENS),
        chat_template=CHAT_TEMPLATE,
        padding_side="left",  # batched generation appends to the right end of every row
    )


def chat_ids(
    tokenizer: PreTrainedTokenizerFast,
    messages: Sequence[Mapping[str, str]],
    *,
    add_generation_prompt: bool = False,
) -> list[int]:
    """Token ids of a conversation through the chat template (BOS first)."""
    encoded: Any = tokenizer.apply_chat_template(
        [dict(message) for message in messages],
        add_generation_prompt=add_generation_prompt,
        tokenize=True,
    )
    ids: list[int] = list(encoded["input_ids"])
    return ids


def encode_story(tokenizer: PreTrainedTokenizerFast, text: str) -> list[int]:
    """A story as one document: BOS, its text, END (no roles)."""
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    return [tokenizer.bos_token_id, *ids, tokenizer.eos_token_id]
