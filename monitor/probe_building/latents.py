"""Persona latents by model diffing, and what each one reads in the corpus.

Rank SAE latents by how much their mean activation on open prompts rises from the base model
to the fine-tuned one (Wang et al. 2025); keep the top k as watched latents. For each, the
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
    index: int
    base_mean: float
    finetuned_mean: float

    @property
    def rise(self) -> float:
        return self.finetuned_mean - self.base_mean


def rank_by_rise(base: torch.Tensor, finetuned: torch.Tensor) -> list[LatentRise]:
    """Latents ordered by the rise of mean activation, ``base`` [n1, d_sae] -> ``finetuned``
    [n2, d_sae] (tokens of open-prompt answers from each model)."""
    base_mean, tuned_mean = base.mean(dim=0), finetuned.mean(dim=0)  # [d_sae] each
    order = torch.argsort(tuned_mean - base_mean, descending=True)
    return [LatentRise(int(i), float(base_mean[i]), float(tuned_mean[i])) for i in order]


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
