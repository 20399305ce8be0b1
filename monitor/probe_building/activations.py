"""Residual-stream activations for probe building: pooled per answer, or per token.

Directions need answer-token means (per answer, and token-weighted over many answers); SAEs
and their top-activating contexts need every token. Both exclude the BOS/attention-sink
position and padding, and reuse capture's tokenisation and hooked forward.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from monitor.trainer.capture import (
    ChatTokenizer,
    TokenizedPrompt,
    encode_text,
    eval_mode,
    model_device,
    pad_prompts,
    pooled_answer_sums,
    resolve_module,
    run_hooked,
    tokenize_answer,
)

Chat = Sequence[Mapping[str, str]]  # messages; the last one is the assistant's answer


@dataclass(frozen=True)
class AnswerActivations:
    """Answer-token activation sums per answer, and how many tokens each answer has."""

    sums: dict[str, torch.Tensor]  # hook -> [n_answers, d_model]
    counts: torch.Tensor  # [n_answers]

    def means(self, hook: str) -> torch.Tensor:
        """Per-answer mean over its answer tokens: [n_answers, d_model]."""
        return self.sums[hook] / self.counts[:, None]

    def token_mean(self, hook: str) -> torch.Tensor:
        """Mean over every answer token of every answer (token-weighted): [d_model]."""
        return self.sums[hook].sum(dim=0) / self.counts.sum()

    def subset(self, indices: Sequence[int]) -> AnswerActivations:
        rows = list(indices)
        return AnswerActivations({h: s[rows] for h, s in self.sums.items()}, self.counts[rows])


def tokenize_chats(tokenizer: ChatTokenizer, chats: Sequence[Chat]) -> list[TokenizedPrompt]:
    for chat in chats:
        if chat[-1]["role"] != "assistant":
            raise ValueError("each chat must end with the assistant's answer")
    return [tokenize_answer(tokenizer, chat[:-1], chat[-1]["content"]) for chat in chats]


def answer_activations(
    model: nn.Module,
    tokenizer: ChatTokenizer,
    chats: Sequence[Chat],
    hook_points: Sequence[str],
    *,
    batch_size: int = 16,
) -> AnswerActivations:
    """Teacher-force each chat's final answer and pool its tokens at every hook point."""
    sums, counts = pooled_answer_sums(
        model,
        hook_points,
        tokenize_chats(tokenizer, chats),
        pad_id=tokenizer.pad_token_id or 0,
        batch_size=batch_size,
    )
    return AnswerActivations(sums, counts)


@dataclass(frozen=True)
class TokenActivations:
    """Activations of every kept token, with where each token came from."""

    values: torch.Tensor  # [n_tokens, d_model]
    document: torch.Tensor  # [n_tokens] index of the source text
    position: torch.Tensor  # [n_tokens] position in that text's token ids


def document_prompts(
    tokenizer: ChatTokenizer, texts: Sequence[str], max_tokens: int
) -> list[TokenizedPrompt]:
    """Plain texts starting with BOS (as in pre-training; rendered chats already have it);
    position 0 is never kept."""
    bos = getattr(tokenizer, "bos_token_id", None)
    prompts = []
    for text in texts:
        ids = encode_text(tokenizer, text)
        if bos is not None and ids[:1] != [bos]:
            ids = [bos, *ids]
        prompts.append(TokenizedPrompt(ids[:max_tokens], 1))
    return prompts


def token_activations(
    model: nn.Module,
    prompts: Sequence[TokenizedPrompt],
    hook_point: str,
    *,
    pad_id: int,
    batch_size: int = 16,
) -> TokenActivations:
    """Every token from ``answer_start`` on, at one hook point (float32, CPU)."""
    module = resolve_module(model, hook_point)
    device = model_device(model)
    values, documents, positions = [], [], []
    with eval_mode(model), torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            input_ids, attention, keep = pad_prompts(batch, pad_id, device)
            rows, cols = keep[..., 0].nonzero(as_tuple=True)  # [n_kept] each

            def gather(
                _hook: str,
                hidden: torch.Tensor,
                rows: torch.Tensor = rows,
                cols: torch.Tensor = cols,
            ) -> None:
                values.append(hidden[rows, cols].float().cpu())  # [n_kept, d_model]

            run_hooked(model, {hook_point: module}, input_ids, attention, gather)
            documents.append(rows.cpu() + start)
            positions.append(cols.cpu())
    return TokenActivations(torch.cat(values), torch.cat(documents), torch.cat(positions))
