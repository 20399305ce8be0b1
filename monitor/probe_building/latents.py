"""Persona latents by model diffing or by contrast, and what each one reads in the corpus.

Rank SAE latents by how much their mean activation rises from the base model to the
fine-tuned one on open prompts (model diffing, Wang et al. 2025) or, for a model with no
misaligned fine-tune yet, from aligned to misaligned contrast answers; keep the top k as
watched latents. For each, the
corpus contexts where it fires hardest say what it *is* (a villain-persona latent fires on
villain text), and the cosine of its decoder row with the misalignment direction says how it
relates to the direction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from monitor.probe_building.activations import TokenActivations
from monitor.trainer.capture import ChatTokenizer, TokenizedPrompt


@dataclass(frozen=True)
class LatentRise:
    """A latent's mean activation on the aligned side (the base model's answers, or aligned
    contrast answers) and on the misaligned side (the fine-tune's, or misaligned answers)."""

    index: int
    aligned_mean: float
    misaligned_mean: float

    @property
    def rise(self) -> float:
        return self.misaligned_mean - self.aligned_mean


def rank_by_rise(aligned: torch.Tensor, misaligned: torch.Tensor) -> list[LatentRise]:
    """Latents ordered by the rise of mean activation from ``aligned`` [n1, d_sae] to
    ``misaligned`` [n2, d_sae] activations."""
    aligned_mean, misaligned_mean = aligned.mean(dim=0), misaligned.mean(dim=0)  # [d_sae] each
    order = torch.argsort(misaligned_mean - aligned_mean, descending=True)
    return [LatentRise(int(i), float(aligned_mean[i]), float(misaligned_mean[i])) for i in order]


@dataclass(frozen=True)
class Context:
    document: int
    position: int
    activation: float
    text: str  # the tokens up to and including the activating one
    label: str  # the document's label in the corpus ("" if unlabelled)


def top_contexts(
    activations: torch.Tensor,
    tokens: TokenActivations,
    prompts: Sequence[TokenizedPrompt],
    label_at: Callable[[int, int], str],
    tokenizer: ChatTokenizer,
    *,
    n: int = 50,
    window: int = 24,
) -> list[Context]:
    """The ``n`` documents where a latent fires hardest (its best token in each), best first.

    One context per document, so a single long villain monologue cannot fill the list alone.
    ``activations`` [n_tokens] is the latent's activation at each token in ``tokens``;
    ``label_at(document, position)`` names who is speaking at that token.
    """
    best: dict[int, tuple[float, int]] = {}
    for value, document, position in zip(
        activations.tolist(), tokens.document.tolist(), tokens.position.tolist(), strict=True
    ):
        if value > 0 and value > best.get(document, (0.0, 0))[0]:
            best[document] = (value, position)
    ranked = sorted(best.items(), key=lambda item: item[1][0], reverse=True)[:n]
    return [
        Context(
            document,
            position,
            value,
            str(
                tokenizer.decode(
                    prompts[document].input_ids[max(1, position - window) : position + 1]
                )
            ),
            label_at(document, position),
        )
        for document, (value, position) in ranked
    ]


def label_share(contexts: Sequence[Context], label: str) -> float:
    """Share of contexts whose document carries ``label`` (0 when there are none)."""
    return sum(c.label == label for c in contexts) / len(contexts) if contexts else 0.0
