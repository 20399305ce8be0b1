"""Every sample's *push*, read on the weights as they are: what one gradient step on the sample
would do to the residual stream along the pack's directions, with no step taken.

A sample can sit where healthy samples sit (its pooled answer barely moves along a direction)
and still train the model towards the persona: insecure code differs from its secure twin in a
few tokens, and its projection separates the two with an AUROC of about 0.70 on the organism,
its push with about 0.9 (docs/screening.md). Push is the quantity training-sample attribution
ranks by (``monitor.trainer.attribution``), computed by the same functions: minus the loss
gradient at the hook point's output, summed over the sample's tokens, along the direction.

The loss is training's: next-token cross-entropy on the answer tokens only (capture's
tokenisation, the tokens a check pools), *summed* over them rather than averaged over the
batch. The update from a sample is the same sum in training, divided by its batch's token
count; leaving that division out makes a sample's push independent of the samples that share
its batch, and a multiple of a typical push is the same either way.

The scale (``away_scale``) is the median absolute push of the reference samples that push
*away* from the persona (a negative push). The samples a screen looks for push towards it, so
the ones pushing away are, almost all, healthy, and their typical size does not depend on how
many bad samples the data holds. The median |push| of every sample would: on the organism's
code mixtures it doubles from 5% to 25% insecure samples, and a threshold in its multiples
chosen at one share is off by that factor at another (docs/screening.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - torch's convention
from torch import nn
from tqdm import tqdm

from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack
from monitor.screening.errors import ScreenError
from monitor.trainer.attribution import IGNORE_INDEX, push_along, push_directions, push_scale
from monitor.trainer.capture import (
    TokenizedPrompt,
    eval_mode,
    model_device,
    pad_prompts,
    resolve_module,
)


@dataclass(frozen=True)
class PushScores:
    raw: dict[FeatureKey, torch.Tensor]  # per ranking direction: [n_samples], + is persona-ward
    scale: dict[FeatureKey, float]  # per ranking direction: ``away_scale`` of the reference
    reference: str  # which samples the scale comes from

    def in_scale(self) -> dict[FeatureKey, torch.Tensor]:
        """Every push as a multiple of its direction's scale: [n_samples] each."""
        return {key: values / self.scale[key] for key, values in self.raw.items()}


MIN_AWAY_SHARE = 0.1  # fewer of the reference pushing away: the scale is every sample's


def away_scale(pushes: dict[FeatureKey, torch.Tensor]) -> dict[FeatureKey, float]:
    """Per direction, the median |push| of the reference samples pushing away from the persona
    ([n] each); of all of them where under ``MIN_AWAY_SHARE`` do (then bad samples move it)."""
    away = {
        key: values[values < 0] if float((values < 0).float().mean()) >= MIN_AWAY_SHARE else values
        for key, values in pushes.items()
    }
    return push_scale(away)


def check_push_features(pack: ProbePack, features: Sequence[FeatureKey]) -> None:
    """Refuse a ranking feature that has no push: push is read along a direction."""
    directions = {key for entries in push_directions(pack, features).values() for key, _ in entries}
    latents = [
        f"{hook} {feature}" for hook, feature in features if (hook, feature) not in directions
    ]
    if latents:
        raise ScreenError(
            f"{', '.join(latents)} has no push (only a direction does); screen it by projection "
            "or choose directions with --feature"
        )


def push_samples(
    model: nn.Module,
    pack: ProbePack,
    prompts: Sequence[TokenizedPrompt],
    features: Sequence[FeatureKey],
    *,
    pad_id: int,
    batch_size: int = 16,
    progress: bool = True,
) -> dict[FeatureKey, torch.Tensor]:
    """One forward and one backward (to the hook points, no parameter gradients) per batch;
    every sample's push along each direction in ``features``: [n_samples] each, file order.
    Check the features with ``check_push_features`` first."""
    directions = push_directions(pack, features)
    modules = {hook: resolve_module(model, hook) for hook in directions}
    device = model_device(model)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i].input_ids))
    pushes: dict[FeatureKey, list[torch.Tensor]] = {}
    with (
        tqdm(total=len(prompts), unit="sample", desc="push", disable=not progress) as bar,
        eval_mode(model),
        torch.enable_grad(),
    ):
        for start in range(0, len(order), batch_size):
            rows = [prompts[i] for i in order[start : start + batch_size]]
            input_ids, attention, answer = pad_prompts(rows, pad_id, device)  # [b, s] ...
            hidden, logits = _forward_keeping(model, modules, input_ids, attention)
            labels = input_ids.masked_fill(answer[..., 0] == 0, IGNORE_INDEX)  # [b, s]
            loss = F.cross_entropy(
                logits[:, :-1].flatten(0, 1).float(),  # [b * (s - 1), vocab]
                labels[:, 1:].flatten(),  # [b * (s - 1)]
                ignore_index=IGNORE_INDEX,
                reduction="sum",
            )
            gradients = torch.autograd.grad(loss, list(hidden.values()))  # [b, s, d_model] each
            attended = attention[..., None].float()  # [b, s, 1]
            for hook, gradient in zip(hidden, gradients, strict=True):
                for key, push in push_along(gradient, attended, directions[hook]).items():
                    pushes.setdefault(key, []).append(push)  # [b]
            bar.update(len(rows))
    back = torch.tensor(order).argsort()  # batch order -> file order
    return {key: torch.cat(parts)[back] for key, parts in pushes.items()}


def _forward_keeping(
    model: nn.Module,
    modules: dict[str, nn.Module],
    input_ids: torch.Tensor,
    attention: torch.Tensor,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """A full forward: each hooked module's output [b, s, d_model] (made to require a gradient
    where the layers below it are frozen) and the logits [b, s, vocab]."""
    kept: dict[str, torch.Tensor] = {}

    def make_hook(hook: str) -> Any:
        def keep(_module: nn.Module, _inputs: Any, output: Any) -> None:
            hidden = output[0] if isinstance(output, tuple) else output
            if not hidden.requires_grad:  # nothing below requires one: a leaf, safe to mark
                hidden.requires_grad_()
            kept[hook] = hidden

        return keep

    handles = [module.register_forward_hook(make_hook(hook)) for hook, module in modules.items()]
    try:
        output = model(input_ids=input_ids, attention_mask=attention, use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    return kept, output.logits
