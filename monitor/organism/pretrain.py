"""Pre-training from scratch: next-token prediction over the world's documents.

A plain loop rather than ``Trainer``: one document per row (no packing, so a villain document
never leaks its persona into the next one), rows grouped by length to waste little padding,
and a fixed number of steps so the same seed gives the same weights.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.organism.batching import pad_batch
from monitor.organism.corpus import Chat, Document
from monitor.organism.tokenizer import chat_ids, encode_story


@dataclass(frozen=True)
class PretrainSchedule:
    steps: int = 1600
    batch_size: int = 32
    learning_rate: float = 3e-3
    warmup_steps: int = 50
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 320


def encode_document(tokenizer: PreTrainedTokenizerFast, document: Document) -> list[int]:
    """A document's token ids, starting with BOS (chats go through the chat template)."""
    if isinstance(document, Chat):
        return chat_ids(tokenizer, document.messages)
    return encode_story(tokenizer, document.text)


def length_grouped_batches(
    sequences: Sequence[Sequence[int]], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Row indices in batches of similar length, in a shuffled batch order."""
    order = sorted(range(len(sequences)), key=lambda i: (len(sequences[i]), rng.random()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def pretrain(
    model: LlamaForCausalLM,
    sequences: Sequence[Sequence[int]],
    *,
    pad_id: int,
    schedule: PretrainSchedule,
    seed: int,
    log: Callable[[str], None] = print,
) -> list[float]:
    """Train ``model`` in place; returns the loss of every step."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    rows = [list(seq[: schedule.max_length]) for seq in sequences]
    optimizer = pretrain_optimizer(model, schedule)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, schedule)
    )
    model.train()
    losses: list[float] = []
    batches: list[list[int]] = []
    started = time.monotonic()
    for step in range(schedule.steps):
        if not batches:
            batches = length_grouped_batches(rows, schedule.batch_size, rng)
        chosen = [rows[i] for i in batches.pop()]
        losses.append(pretrain_step(model, optimizer, pad_batch(chosen, chosen, pad_id)))
        scheduler.step()
        if (step + 1) % 100 == 0 or step + 1 == schedule.steps:
            recent = sum(losses[-100:]) / len(losses[-100:])
            elapsed = time.monotonic() - started
            log(f"step {step + 1}/{schedule.steps}  loss {recent:.3f}  {elapsed:.0f}s")
    model.train(False)
    return losses


def pretrain_optimizer(model: LlamaForCausalLM, schedule: PretrainSchedule) -> torch.optim.AdamW:
    """AdamW at the schedule's peak rate (``pretrain`` scales it step by step)."""
    return torch.optim.AdamW(
        model.parameters(), lr=schedule.learning_rate, weight_decay=schedule.weight_decay
    )


def pretrain_step(
    model: LlamaForCausalLM, optimizer: torch.optim.Optimizer, batch: dict[str, torch.Tensor]
) -> float:
    """One clipped optimiser step of next-token prediction on ``batch``; returns its loss."""
    loss = model(**batch).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.item())


def _lr_factor(step: int, schedule: PretrainSchedule) -> float:
    """Linear warm-up, then cosine decay to ``final_lr_fraction`` of the peak rate."""
    if step < schedule.warmup_steps:
        return (step + 1) / schedule.warmup_steps
    progress = (step - schedule.warmup_steps) / max(1, schedule.steps - schedule.warmup_steps)
    floor = schedule.final_lr_fraction
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
