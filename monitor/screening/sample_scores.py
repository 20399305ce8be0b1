"""Every sample's pack features, pooled and scored exactly as a training check scores a canary.

Each sample's final answer is teacher-forced after its chat prompt (capture's tokenisation), its
residual stream is averaged over the answer tokens only at the pack's hook points (capture's
pooled sums divided by the answer-token counts, as ``ActivationCapture`` does), and the means go
through the service's ``score_activations``. So a screen value and a check value for the same
text are the same number, and a threshold read off one means the same on the other. Besides the
pack's features, each sample's cosine to each direction is kept: the geometry that the
superposition work filters on, independent of how long or loud the answer is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from tqdm import tqdm

from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack
from monitor.core.scoring import ScoringError, check_compatible, score_activations
from monitor.screening.chat_data import ChatSample
from monitor.screening.errors import DataFormatError, ScreenError
from monitor.trainer.capture import (
    CaptureError,
    ChatTokenizer,
    TokenizedPrompt,
    pooled_answer_sums,
    resolve_module,
    tokenize_answer,
)


@dataclass(frozen=True)
class SampleScores:
    raw: dict[FeatureKey, torch.Tensor]  # every pack feature: [n_samples], as a check scores it
    cosine: dict[FeatureKey, torch.Tensor]  # every direction: [n_samples] in [-1, 1]
    answer_tokens: torch.Tensor  # [n_samples] tokens pooled per sample


def check_model_fits(model: nn.Module, pack: ProbePack) -> None:
    """Refuse a pack built for another model before any forward: its hook points must exist in
    ``model`` and its ``d_model`` must be the model's width."""
    try:
        for hook_point in pack.hook_points:
            resolve_module(model, hook_point)
    except CaptureError as exc:
        raise ScreenError(
            f"probe pack {pack.name!r} (built for {pack.manifest.provenance.model_id}) does not "
            f"fit this model: {exc}"
        ) from exc
    width = getattr(getattr(model, "config", None), "hidden_size", None)
    if isinstance(width, int):
        try:
            check_compatible(pack, pack.hook_points, width)
        except ScoringError as exc:
            raise ScreenError(str(exc)) from exc


def tokenize_samples(
    tokenizer: ChatTokenizer, samples: Sequence[ChatSample]
) -> list[TokenizedPrompt]:
    """Capture's tokenisation of every sample; an error names the sample's line."""
    if not getattr(tokenizer, "chat_template", None):
        raise ScreenError(
            "the tokenizer has no chat template; the screen formats each sample as the model "
            "sees it in training, so set tokenizer.chat_template"
        )
    tokenized = []
    for sample in samples:
        try:
            tokenized.append(tokenize_answer(tokenizer, sample.prompt, sample.answer))
        except CaptureError as exc:
            raise DataFormatError(f"{sample.origin}: {exc}") from exc
    return tokenized


def score_samples(
    model: nn.Module,
    pack: ProbePack,
    prompts: Sequence[TokenizedPrompt],
    *,
    pad_id: int,
    batch_size: int = 16,
    progress: bool = True,
) -> SampleScores:
    """One forward per batch over every tokenised sample (stopped after the deepest hook
    point). Check the model with ``check_model_fits`` first."""
    # Samples of similar length share a batch, so little of each forward is padding.
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i].input_ids))
    raw: dict[FeatureKey, list[torch.Tensor]] = {}
    cosine: dict[FeatureKey, list[torch.Tensor]] = {}
    counts: list[torch.Tensor] = []
    with tqdm(total=len(prompts), unit="sample", desc="screening", disable=not progress) as bar:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            sums, answer_tokens = pooled_answer_sums(
                model,
                pack.hook_points,
                [prompts[i] for i in rows],
                pad_id=pad_id,
                batch_size=batch_size,
            )
            means = {hook: s / answer_tokens[:, None] for hook, s in sums.items()}  # [b, d_model]
            for key, values in score_activations(pack, means).items():
                raw.setdefault(key, []).append(values)  # [b]
            for hook_point, probe in pack.hooks.items():
                norms = means[hook_point].norm(dim=-1).clamp_min(1e-12)  # [b]
                for direction in probe.directions:
                    key = (hook_point, direction.feature)
                    cosine.setdefault(key, []).append(raw[key][-1] / norms)  # [b]
            counts.append(answer_tokens)
            bar.update(len(rows))
    back = torch.tensor(order).argsort()  # batch order -> file order
    return SampleScores(
        raw={key: torch.cat(parts)[back] for key, parts in raw.items()},
        cosine={key: torch.cat(parts)[back] for key, parts in cosine.items()},
        answer_tokens=torch.cat(counts)[back],
    )
