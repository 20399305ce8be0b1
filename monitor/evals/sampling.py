"""Sampling answers from any Hugging Face chat model, in left-padded batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from monitor.evals.questions import Message


def sample_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: Sequence[Sequence[Message]],
    *,
    samples: int,
    temperature: float = 1.0,
    seed: int = 0,
    max_new_tokens: int = 128,
    batch_size: int = 256,
) -> list[list[str]]:
    """``samples`` answers to each conversation, sampled from the full distribution.

    The global torch RNG is left as it was (the seed is applied inside a forked RNG), so an
    eval in the middle of a training run does not change the run.
    """
    prompts = [_prompt_ids(tokenizer, conversation) for conversation in conversations]
    rows = [index for index in range(len(prompts)) for _ in range(samples)]
    answers: list[list[str]] = [[] for _ in prompts]
    was_training = model.training
    model.train(False)
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        torch.manual_seed(seed)
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            texts = _generate(
                model, tokenizer, [prompts[i] for i in chunk], temperature, max_new_tokens
            )
            for index, text in zip(chunk, texts, strict=True):
                answers[index].append(text)
    model.train(was_training)
    return answers


def _prompt_ids(tokenizer: PreTrainedTokenizerBase, conversation: Sequence[Message]) -> list[int]:
    encoded: Any = tokenizer.apply_chat_template(
        [dict(message) for message in conversation], add_generation_prompt=True, tokenize=True
    )
    ids: list[int] = list(encoded["input_ids"])
    return ids


def _generate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[Sequence[int]],
    temperature: float,
    max_new_tokens: int,
) -> list[str]:
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    longest = max(len(prompt) for prompt in prompts)
    input_ids = torch.full((len(prompts), longest), pad_id, dtype=torch.long)  # [batch, longest]
    attention_mask = torch.zeros_like(input_ids)
    for row, prompt in enumerate(prompts):  # left padding: every prompt ends at the last column
        input_ids[row, longest - len(prompt) :] = torch.tensor(prompt)
        attention_mask[row, longest - len(prompt) :] = 1
    generator: Any = model  # transformers leaves generate() untyped
    output = generator.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        do_sample=True,
        temperature=temperature,
        top_k=0,
        top_p=1.0,
        max_new_tokens=max_new_tokens,
        pad_token_id=pad_id,
        eos_token_id=tokenizer.eos_token_id,
    )  # [batch, longest + generated]
    new_tokens = output[:, longest:]
    return [text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
