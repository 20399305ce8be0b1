"""Padding token rows into a batch: shared by pre-training and fine-tuning."""

from __future__ import annotations

from collections.abc import Sequence

import torch

IGNORE_INDEX = -100  # label value the loss skips (padding, and prompts when fine-tuning)


def pad_batch(
    inputs: Sequence[Sequence[int]], labels: Sequence[Sequence[int]], pad_id: int
) -> dict[str, torch.Tensor]:
    """Right-padded ``input_ids``, ``attention_mask`` and ``labels``, each ``[batch, longest]``."""
    longest = max(len(row) for row in inputs)
    input_ids = torch.full((len(inputs), longest), pad_id, dtype=torch.long)
    label_ids = torch.full((len(inputs), longest), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(inputs), longest), dtype=torch.long)
    for i, (row, row_labels) in enumerate(zip(inputs, labels, strict=True)):
        input_ids[i, : len(row)] = torch.tensor(row)
        label_ids[i, : len(row_labels)] = torch.tensor(row_labels)
        attention_mask[i, : len(row)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": label_ids}
