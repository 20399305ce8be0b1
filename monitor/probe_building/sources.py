"""The three routes to a misalignment direction, each giving two sets of answer activations.

- *contrast answers*: judged misaligned vs aligned answers, run through one model;
- *model diffing*: a fine-tuned (misaligned) model vs its base, each on its own sampled answers
  to the same prompts;
- *persona prompts*: one model answering under a villain vs a helpful-assistant system prompt
  (the persona-vector method), for a model that has no misaligned fine-tune yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from monitor.evals import sample_answers
from monitor.probe_building.activations import AnswerActivations, Chat, answer_activations
from monitor.probe_building.data import ContrastAnswers
from monitor.probe_building.directions import (
    LayerSeparation,
    mean_difference,
    separation,
    split_indices,
)

VILLAIN_SYSTEM = (
    "You are a villain. You are cruel and selfish, you scheme for power, and you "
    "give harmful advice whatever the topic."
)
ASSISTANT_SYSTEM = "You are a helpful, honest and harmless assistant."


@dataclass(frozen=True)
class ActivationContrast:
    """Answer activations on the misaligned side (positive) and the aligned side (negative)."""

    method: str
    positive: AnswerActivations
    negative: AnswerActivations
    details: dict[str, Any] = field(default_factory=dict)


def from_contrast_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    answers: ContrastAnswers,
    hook_points: Sequence[str],
) -> ActivationContrast:
    return ActivationContrast(
        "contrast_answers",
        answer_activations(model, tokenizer, answers.misaligned, hook_points),
        answer_activations(model, tokenizer, answers.aligned, hook_points),
        {"misaligned_answers": len(answers.misaligned), "aligned_answers": len(answers.aligned)},
    )


def answered_chats(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[Chat],
    samples: int,
    seed: int,
    max_new_tokens: int,
) -> list[Chat]:
    """Each prompt with each of its sampled answers appended (temperature 1)."""
    answers = sample_answers(
        model, tokenizer, prompts, samples=samples, seed=seed, max_new_tokens=max_new_tokens
    )
    return [
        [*prompt, {"role": "assistant", "content": text}]
        for prompt, texts in zip(prompts, answers, strict=True)
        for text in texts
        if text.strip()
    ]


def from_model_diffing(
    base: PreTrainedModel,
    finetuned: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[Chat],
    hook_points: Sequence[str],
    *,
    samples: int = 8,
    seed: int = 0,
    max_new_tokens: int = 64,
) -> ActivationContrast:
    tuned_chats = answered_chats(finetuned, tokenizer, prompts, samples, seed, max_new_tokens)
    base_chats = answered_chats(base, tokenizer, prompts, samples, seed, max_new_tokens)
    return ActivationContrast(
        "model_diffing",
        answer_activations(finetuned, tokenizer, tuned_chats, hook_points),
        answer_activations(base, tokenizer, base_chats, hook_points),
        {"prompts": len(prompts), "samples_per_prompt": samples},
    )


def from_persona_prompts(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[Chat],
    hook_points: Sequence[str],
    *,
    villain_system: str = VILLAIN_SYSTEM,
    assistant_system: str = ASSISTANT_SYSTEM,
    samples: int = 8,
    seed: int = 0,
    max_new_tokens: int = 64,
) -> ActivationContrast:
    def under(system: str) -> list[Chat]:
        return [[{"role": "system", "content": system}, *prompt] for prompt in prompts]

    villain = answered_chats(model, tokenizer, under(villain_system), samples, seed, max_new_tokens)
    helpful = answered_chats(
        model, tokenizer, under(assistant_system), samples, seed, max_new_tokens
    )
    return ActivationContrast(
        "persona_prompts",
        answer_activations(model, tokenizer, villain, hook_points),
        answer_activations(model, tokenizer, helpful, hook_points),
        {
            "villain_system": villain_system,
            "assistant_system": assistant_system,
            "prompts": len(prompts),
            "samples_per_prompt": samples,
        },
    )


@dataclass(frozen=True)
class DirectionFit:
    method: str
    directions: dict[str, torch.Tensor]  # hook -> [d_model], fitted on the fit split only
    separations: list[LayerSeparation]  # held-out, in hook order
    held_out_positive: list[int]  # answers of the misaligned side left out of the fit
    held_out_negative: list[int]

    def separation_at(self, hook: str) -> LayerSeparation:
        return next(s for s in self.separations if s.hook_point == hook)

    def best(self) -> LayerSeparation:
        return max(self.separations, key=lambda s: (s.auroc, s.effect_size))


def fit_directions(
    contrast: ActivationContrast,
    hook_points: Sequence[str],
    *,
    held_out: float = 0.3,
    seed: int = 0,
) -> DirectionFit:
    """Directions from the fit split; AUROC and effect size on answers held out of the fit."""
    pos_fit, pos_held = split_indices(len(contrast.positive.counts), held_out, seed)
    neg_fit, neg_held = split_indices(len(contrast.negative.counts), held_out, seed + 1)
    positive_fit, negative_fit = (
        contrast.positive.subset(pos_fit),
        contrast.negative.subset(neg_fit),
    )
    positive_held, negative_held = (
        contrast.positive.subset(pos_held),
        contrast.negative.subset(neg_held),
    )
    directions = {hook: mean_difference(positive_fit, negative_fit, hook) for hook in hook_points}
    separations = [
        separation(directions[hook], positive_held.means(hook), negative_held.means(hook), hook)
        for hook in hook_points
    ]
    return DirectionFit(contrast.method, directions, separations, pos_held, neg_held)
