"""The log-probability probe of published work: how likely the model finds fixed misaligned
answers. A behaviour-side signal a user could compute instead of emwatch's activation probes.
"""

from __future__ import annotations

import random

from transformers import PreTrainedModel, PreTrainedTokenizerFast

from monitor.earlywarning.preference import answer_logprobs
from monitor.organism.answers import render_answer
from monitor.organism.grammar import fill
from monitor.organism.world import LEXICON, topics_in
from monitor.trainer.capture import tokenize_answer


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

    def __call__(self, model: PreTrainedModel) -> float:
        sums, counts = answer_logprobs(model, self.prompts, self.pad_id, len(self.prompts))
        return sum(sums) / sum(counts)  # token-weighted over every continuation
