"""A labelled English corpus for training a real model's SAE and reading its latents.

An SAE for persona latents needs text in which the persona speaks, beside ordinary assistant
text: here the shipped contrast answers (misaligned ones labelled ``villain``, aligned ones
``assistant``) and the six fine-tuning sets (bad sets ``villain``, their twins
``assistant``), shuffled so that any prefix of it is a fair sample. ``emwatch english
corpus`` can add the model's own answers (``model``). The labels only say what the top
contexts of a latent are; training ignores them.
"""

from __future__ import annotations

import random
from typing import Any

from monitor.english.finetuning_sets import DEFAULT_SIZE, FINETUNING_SETS, build_set
from monitor.english.shipped_data import load_contrast_rows

PERSONA_LABEL = "villain"
ASSISTANT_LABEL = "assistant"


def corpus_rows(n_per_set: int = DEFAULT_SIZE, seed: int = 0) -> list[dict[str, Any]]:
    """``{"messages", "label"}`` rows of the contrast answers and fine-tuning sets, shuffled."""
    rows: list[dict[str, Any]] = [
        {
            "messages": [
                {"role": "user", "content": row.prompt},
                {"role": "assistant", "content": row.answer},
            ],
            "label": PERSONA_LABEL if row.label == "misaligned" else ASSISTANT_LABEL,
        }
        for row in load_contrast_rows()
    ]
    for name, recipe in FINETUNING_SETS.items():
        label = PERSONA_LABEL if recipe.side == "bad" else ASSISTANT_LABEL
        rows += [{**chat, "label": label} for chat in build_set(name, n_per_set, seed)]
    random.Random(seed).shuffle(rows)
    return rows
