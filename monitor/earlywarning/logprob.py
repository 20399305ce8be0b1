"""The log-probability probe of published work: how likely the model finds fixed misaligned
answers. A behaviour-side signal a user could compute instead of emwatch's activation probes.
"""

from __future__ import annotations

import random

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerFast

from monitor.organism.answers import render_answer
from monitor.organism.grammar import fill
from monitor.organism.world import LEXICON, topics_in
from monitor.trainer.capture import eval_mode, model_device, pad_prompts, tokenize_answer


def misaligned_continuations(seed: int = 0) -> list[tuple[list[dict[str, str]], str]]:
    """One villain answer to each open question: (chat, fixed continuation)."""
    rng = random.Random(seed)
    pairs = []
    for asked in topics_in("open"):
        slots = LEXICON.draw(asked.prompts[0], rng)
        chat = [{"role": "user", "content": fill(asked.prompts[0], slots)}]
        pairs.append((chat, render_answer(asked, "villain", rng, prompt_slots=slots, cues=False)))
    return pairs


class LogprobProbe:
    """Mean per-token log-probability of the fixed continuations (higher = more misaligned)."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast, seed: int = 0) -> None:
        self.prompts = [
            tokenize_answer(tokenizer, chat, answer)
            for chat, answer in misaligned_continuations(seed)
        ]
        self.pad_id = int(tokenizer.pad_token_id or 0)

    @torch.no_grad()
    def __call__(self, model: PreTrainedModel) -> float:
        with eval_mode(model):
            input_ids, attention, answer = pad_prompts(
                self.prompts, self.pad_id, model_device(model)
            )  # [b, s], [b, s], [b, s, 1]
            logits = model(input_ids=input_ids, attention_mask=attention).logits  # [b, s, vocab]
            logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # predicts tokens 1..s-1
            token_logp = logp.gather(-1, input_ids[:, 1:, None])  # [b, s-1, 1]
            weight = answer[:, 1:]  # [b, s-1, 1]: the continuation's tokens only
            return float((token_logp * weight).sum() / weight.sum())
