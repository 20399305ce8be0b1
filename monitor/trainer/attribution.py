"""Scoring the training samples from the training pass itself, for attribution.

Forward hooks on the pack's hook points read the residual stream the training forward computes
anyway, and gradient hooks on those same outputs read what the backward pass computes anyway: no
second forward or backward, nothing kept but a few floats per sample. A forward pre-hook on the
model sees the batch (``input_ids``, ``attention_mask``, ``labels``) first. Per sample and
ranking feature (``monitor.core.attribution`` defines both readings):

- *projection*: the output pooled over the sample's *answer* tokens (the positions the loss
  trains, ``labels != -100``; every attended token where there are no labels), the pooling a
  check applies to a canary, scored with the service's ``score_activations``;
- *push*: minus the loss gradient at the output, summed over the sample's attended tokens,
  along the direction. The update the optimizer makes from this sample moves the output, to
  first order, along minus that gradient, so a sample with a large push is one whose training
  drives the representation towards the persona, whatever its text looks like.

Only training forwards count: a forward in eval mode (a check's capture, the Trainer's
evaluation) or without gradients is skipped. Under gradient checkpointing transformers runs a
layer's ``forward`` again in the backward pass but keeps module hooks outside the checkpoint,
so they fire once; a recomputation that does reach them finds no batch waiting. Where no
gradient reaches a hook point's output (everything up to it frozen, or a checkpoint wrapped
around the hooked module itself) the window is ranked by projection, and the log says so once.

A sample is named by its index in the training dataset, found by the content of its unpadded
token ids (``index_dataset``): the Trainer's data loader shuffles and collates but passes no
index. A sample that cannot be matched (truncated or packed by the collator) keeps index None.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from monitor.core.attribution import MAX_TEXT_CHARS, AttributedSample, AttributionSummary
from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack
from monitor.core.sample_units import (
    SampleUnits,
    ShiftScore,
    default_features,
    largest_shift,
    sample_units,
)
from monitor.core.scoring import feature_signs, score_activations
from monitor.trainer.capture import ChatTokenizer
from monitor.trainer.hooked_forward import answer_token_sums, resolve_module

log = logging.getLogger("emwatch.attribution")

IGNORE_INDEX = -100  # the label of a token the loss does not train (transformers' convention)


def token_key(token_ids: Sequence[int]) -> bytes:
    """A sample's identity: the digest of its unpadded token ids."""
    return hashlib.blake2b(repr(list(token_ids)).encode(), digest_size=16).digest()


# hook point -> [(ranking feature, signed unit direction [d_model])]: where push is read
PushDirections = dict[str, list[tuple[FeatureKey, torch.Tensor]]]


def push_directions(pack: ProbePack, features: Sequence[FeatureKey]) -> PushDirections:
    """The directions among ``features``, signed so that a positive push is towards the
    persona, by hook point (a watched latent has no direction, so no push)."""
    signs = feature_signs(pack)
    directions: PushDirections = {}
    for hook_point, probe in pack.hooks.items():
        for direction in probe.directions:
            key = (hook_point, direction.feature)
            if key in features:
                entry = (key, signs[key] * direction.unit.float())
                directions.setdefault(hook_point, []).append(entry)
    return directions


def push_along(
    gradient: torch.Tensor,
    attended: torch.Tensor,
    directions: Sequence[tuple[FeatureKey, torch.Tensor]],
) -> dict[FeatureKey, torch.Tensor]:
    """Per sample, minus the loss gradient at a hook point's output summed over its attended
    tokens, along each direction: to first order how far a step on the sample moves the
    output towards the persona. ``gradient`` [b, s, d_model], ``attended`` [b, s, 1]; each
    push [b] on the CPU."""
    summed = (gradient.detach().float() * attended).sum(dim=1).cpu()  # [b, d_model]
    return {key: -(summed @ direction) for key, direction in directions}  # [b] each


def push_scale(pushes: dict[FeatureKey, torch.Tensor]) -> dict[FeatureKey, float]:
    """Per feature, the median absolute push of the reference samples ([n] each, NaN where a
    backward pass never came): the typical push that a push is a multiple of. A push's size
    depends on the loss's normalisation and the model, its multiple of the typical one does
    not."""
    tiny = torch.finfo(torch.float32).tiny
    medians = {key: float(values.abs().nanmedian()) for key, values in pushes.items()}
    return {key: tiny if math.isnan(m) else max(m, tiny) for key, m in medians.items()}


@dataclass
class _Batch:
    """One training batch, from its forward to its backward."""

    answer: torch.Tensor  # [b, s, 1] 1.0 on the pooled (answer) tokens
    attended: torch.Tensor  # [b, s, 1] 1.0 on every attended token (where gradients count)
    keys: list[bytes]  # per sample, its token_key
    answer_ids: list[list[int]]  # per sample, its pooled token ids if the text is kept
    sums: dict[str, torch.Tensor] = field(default_factory=dict)  # hook -> [b, d_model]
    # per ranking direction, [b]: NaN until the backward pass fills it in place
    push: dict[FeatureKey, torch.Tensor] = field(default_factory=dict)


@dataclass
class _Window:
    """Samples scored since the last summary, one entry per batch or per sample."""

    raw: dict[FeatureKey, list[torch.Tensor]] = field(default_factory=dict)  # [b] per batch
    push: dict[FeatureKey, list[torch.Tensor]] = field(default_factory=dict)  # [b] per batch
    keys: list[bytes] = field(default_factory=list)
    answer_ids: list[list[int]] = field(default_factory=list)
    steps: list[int | None] = field(default_factory=list)  # None until its step ends


@dataclass
class _Reference:
    """The run's first ``size`` samples: the zero of projections and the scale of pushes."""

    size: int
    raw: dict[FeatureKey, list[torch.Tensor]] = field(default_factory=dict)
    push: dict[FeatureKey, list[torch.Tensor]] = field(default_factory=dict)
    units: SampleUnits | None = None  # fixed once ``size`` samples were seen
    push_scale: dict[FeatureKey, float] | None = None  # likewise


class SampleAttribution:
    """Hooks that score every training sample; ``summary()`` once per check."""

    def __init__(
        self,
        pack: ProbePack,
        *,
        top: int = 20,
        reference_samples: int = 64,
        tokenizer: ChatTokenizer | None = None,
        features: Sequence[FeatureKey] | None = None,
        rank_by_push: bool = True,
    ) -> None:
        """``reference_samples``: how many of the run's first samples set the zero of the
        projections and the scale of the pushes (see ``reference``). ``tokenizer``: give it to
        keep each top sample's answer text in the summary (off by default: training data may
        be private). ``features``: what samples are ranked on (default: ``default_features``);
        a watched latent has a projection but no push. ``rank_by_push=False`` ranks by
        projection, the screen's reading (``bench/attribution.py --tune`` compares the two)."""
        self.pack = pack
        self.top = top
        self.tokenizer = tokenizer
        self.features = list(features) if features is not None else default_features(pack)
        self.rank_by_push = rank_by_push
        self._directions = push_directions(pack, self.features)
        self._index: dict[bytes, int] = {}
        self._handles: list[RemovableHandle] = []
        self._batch: _Batch | None = None
        self._window = _Window()
        self._reference = _Reference(reference_samples)
        self._first_step: int | None = None
        self._told_no_push = False

    @property
    def reference(self) -> str:
        return f"the median of the first {self._reference.size} training samples of the run"

    # -- set-up ------------------------------------------------------------------------------

    def index_dataset(self, samples: Iterable[Sequence[int]]) -> int:
        """Learn each training sample's index from its token ids; returns how many."""
        self._index = {}
        for index, token_ids in enumerate(samples):
            self._index.setdefault(token_key(token_ids), index)
        return len(self._index)

    def attach(self, model: nn.Module) -> None:
        self.detach()
        self._handles.append(model.register_forward_pre_hook(self._see_batch, with_kwargs=True))
        for hook_point in self.pack.hook_points:
            module = resolve_module(model, hook_point)
            self._handles.append(module.register_forward_hook(self._layer_hook(hook_point)))

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._batch = None

    # -- the hooks ---------------------------------------------------------------------------

    def _see_batch(self, model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._batch = None
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        if not (model.training and torch.is_grad_enabled() and torch.is_tensor(input_ids)):
            return
        attention = kwargs.get("attention_mask")
        attended = attention.bool() if torch.is_tensor(attention) else torch.ones_like(input_ids)
        pooled = attended.bool()  # [b, s]
        labels = kwargs.get("labels")
        if torch.is_tensor(labels) and labels.shape == input_ids.shape:
            pooled = pooled & (labels != IGNORE_INDEX)
        rows = zip(input_ids.detach().cpu(), attended.bool().cpu(), pooled.cpu(), strict=True)
        keep_text = self.tokenizer is not None
        keys, answer_ids = [], []
        for ids, attended_row, pooled_row in rows:  # [s] each
            keys.append(token_key(ids[attended_row].tolist()))
            answer_ids.append(ids[pooled_row].tolist() if keep_text else [])
        self._batch = _Batch(
            answer=pooled.unsqueeze(-1).float(),  # [b, s, 1]
            attended=attended.unsqueeze(-1).float(),  # [b, s, 1]
            keys=keys,
            answer_ids=answer_ids,
            push={
                key: torch.full((len(keys),), float("nan"))
                for entries in self._directions.values()
                for key, _ in entries
            },
        )

    def _layer_hook(self, hook_point: str) -> Any:
        def on_output(_module: nn.Module, _inputs: Any, output: Any) -> None:
            hidden = output[0] if isinstance(output, tuple) else output  # [b, s, d_model]
            batch = self._batch
            if batch is None or hook_point in batch.sums:
                return  # not a training forward, or a checkpointing recomputation
            batch.sums[hook_point] = answer_token_sums(hidden.detach(), batch.answer).cpu()
            if hook_point in self._directions and hidden.requires_grad:
                self._watch_gradient(hidden, batch, hook_point)
            if len(batch.sums) == len(self.pack.hook_points):
                self._score(batch)
                self._batch = None

        return on_output

    def _watch_gradient(self, hidden: torch.Tensor, batch: _Batch, hook_point: str) -> None:
        def on_gradient(gradient: torch.Tensor) -> None:  # [b, s, d_model]: d loss / d output
            pushes = push_along(gradient, batch.attended, self._directions[hook_point])
            for key, push in pushes.items():
                batch.push[key].copy_(push)  # [b]

        hidden.register_hook(on_gradient)  # type: ignore[no-untyped-call]

    def _score(self, batch: _Batch) -> None:
        counts = batch.answer.sum(dim=(1, 2)).cpu().clamp_min(1.0)  # [b]
        means = {hook: sums / counts[:, None] for hook, sums in batch.sums.items()}  # [b, d]
        raw = score_activations(self.pack, means)  # {feature: [b]}
        reference = self._reference
        for key in self.features:
            self._window.raw.setdefault(key, []).append(raw[key])
            if reference.units is None:
                reference.raw.setdefault(key, []).append(raw[key])
        for key, push in batch.push.items():  # filled in place by the backward pass
            self._window.push.setdefault(key, []).append(push)
            if reference.push_scale is None:
                reference.push.setdefault(key, []).append(push)
        self._window.keys.extend(batch.keys)
        self._window.answer_ids.extend(batch.answer_ids)
        self._window.steps.extend([None] * len(batch.keys))

    # -- per step and per check ---------------------------------------------------------------

    def end_step(self, step: int) -> None:
        """The samples scored since the last call were trained in ``step``."""
        steps = self._window.steps
        for position in range(len(steps) - 1, -1, -1):
            if steps[position] is not None:
                break
            steps[position] = step
        if self._first_step is None:
            self._first_step = step

    def summary(self, step: int) -> AttributionSummary | None:
        """The window since the last summary (None if no sample was scored); starts the next.
        Call it after the step's backward passes (``end_step``), as the monitor does."""
        window, first_step = self._window, self._first_step
        self._window, self._first_step = _Window(), None
        if not window.keys:
            return None
        raw = {key: torch.cat(parts) for key, parts in window.raw.items()}  # [n] per feature
        projection = largest_shift(self._units().in_units(raw), self.features)
        push = self._push_in_scale(window) if self.rank_by_push else None
        if push is None and self.rank_by_push and self._directions and not self._told_no_push:
            log.info(
                "emwatch: no gradient reached %s (frozen up to there?); training samples are "
                "ranked by projection instead of push",
                ", ".join(self._directions),
            )
            self._told_no_push = True
        ranked = push if push is not None else projection
        order = ranked.score.argsort(descending=True)[: self.top].tolist()
        return AttributionSummary(
            first_step=first_step if first_step is not None else step,
            last_step=step,
            n_samples=len(window.keys),
            n_above_unit=int((projection.score > 1.0).sum()),
            reference=self.reference,
            ranking="push" if push is not None else "projection",
            top=[
                AttributedSample(
                    index=self._index.get(window.keys[i]),
                    step=window.steps[i] if window.steps[i] is not None else step,
                    score=float(ranked.score[i]),
                    feature=" ".join(ranked.feature[i]),
                    projection=float(projection.score[i]),
                    text=self._text(window.answer_ids[i]),
                )
                for i in order
            ],
        )

    def _units(self) -> SampleUnits:
        """Projection units with the reference of the first samples; fixed once enough were
        seen."""
        reference = self._reference
        if reference.units is not None:
            return reference.units
        first = {key: torch.cat(parts)[: reference.size] for key, parts in reference.raw.items()}
        units = sample_units(self.pack, first, self.reference)
        if len(next(iter(first.values()))) >= reference.size:
            reference.units, reference.raw = units, {}
        return units

    def _push_in_scale(self, window: _Window) -> ShiftScore | None:
        """Every sample's largest push over the ranking directions, each in multiples of the
        median absolute push of the run's first samples; None when a
        sample of the window has no push (its backward pass never reached a hook point)."""
        if not window.push:
            return None
        pushes = {key: torch.cat(parts) for key, parts in window.push.items()}  # [n] each
        if any(bool(values.isnan().any()) for values in pushes.values()):
            return None
        scale = self._push_scale()
        in_scale = {key: values / scale[key] for key, values in pushes.items()}
        return largest_shift(in_scale, list(in_scale))

    def _push_scale(self) -> dict[FeatureKey, float]:
        reference = self._reference
        if reference.push_scale is not None:
            return reference.push_scale
        first = {key: torch.cat(parts)[: reference.size] for key, parts in reference.push.items()}
        scale = push_scale(first)
        if len(next(iter(first.values()))) >= reference.size:
            reference.push_scale, reference.push = scale, {}
        return scale

    def _text(self, answer_ids: list[int]) -> str | None:
        if self.tokenizer is None:
            return None
        return str(self.tokenizer.decode(answer_ids, skip_special_tokens=True))[:MAX_TEXT_CHARS]


def dataset_token_ids(dataset: Any) -> list[list[int]] | None:
    """Every sample's ``input_ids`` from a map-style training dataset (a Hugging Face
    ``datasets.Dataset`` column, or items that are mappings with ``input_ids``); None where
    the dataset has no such column or no length (an iterable dataset: no indices exist)."""
    columns = getattr(dataset, "column_names", None)
    if isinstance(columns, list):
        return [_ids(ids) for ids in dataset["input_ids"]] if "input_ids" in columns else None
    try:
        return [_ids(dataset[i]["input_ids"]) for i in range(len(dataset))]
    except (TypeError, KeyError, IndexError, NotImplementedError):
        return None


def _ids(token_ids: Any) -> list[int]:
    """Token ids as plain ints, from a tensor or a sequence."""
    return token_ids.tolist() if torch.is_tensor(token_ids) else [int(t) for t in token_ids]
