"""Scoring the training samples from the training forward itself, for attribution.

Forward hooks on the pack's hook points read the residual stream that the training forward
computes anyway: no second forward, no gradient (everything is detached), and nothing kept but a
few floats per sample. A forward pre-hook on the model sees the batch (``input_ids``,
``attention_mask``, ``labels``) first, so each sample is pooled over its *answer* tokens (the
positions the loss trains, ``labels != -100``; every attended token where there are no labels),
the pooling a check applies to a canary; the means are scored with the service's
``score_activations`` and put in the pack's units (``monitor.core.sample_units``).

Only training forwards count: a forward in eval mode (a check's capture, the Trainer's
evaluation) or without gradients is skipped, and a gradient-checkpointing recomputation, which
runs the layers again in the backward pass without the model's own forward, finds no batch
waiting and is skipped too.

A sample is named by its index in the training dataset, found by the content of its unpadded
token ids (``index_dataset``): the Trainer's data loader shuffles and collates but passes no
index. A sample that cannot be matched (truncated or packed by the collator) keeps index None.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from monitor.core.attribution import MAX_TEXT_CHARS, AttributedSample, AttributionSummary
from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack
from monitor.core.sample_units import SampleUnits, default_features, largest_shift, sample_units
from monitor.core.scoring import score_activations
from monitor.trainer.capture import ChatTokenizer
from monitor.trainer.hooked_forward import answer_token_sums, resolve_module

log = logging.getLogger("emwatch.attribution")

IGNORE_INDEX = -100  # the label of a token the loss does not train (transformers' convention)


def token_key(token_ids: Sequence[int]) -> bytes:
    """A sample's identity: the digest of its unpadded token ids."""
    return hashlib.blake2b(repr(list(token_ids)).encode(), digest_size=16).digest()


@dataclass
class _Batch:
    """The training batch whose forward is under way: what the layer hooks pool it with."""

    answer: torch.Tensor  # [b, s, 1] 1.0 on the pooled tokens
    keys: list[bytes]  # per sample, its token_key
    answer_ids: list[list[int]]  # per sample, its pooled token ids if the text is kept
    sums: dict[str, torch.Tensor] = field(default_factory=dict)  # hook -> [b, d_model]


@dataclass
class _Scored:
    """Samples scored since the last summary: raw feature values and where they came from."""

    raw: dict[FeatureKey, list[torch.Tensor]] = field(default_factory=dict)  # [b] per batch
    keys: list[bytes] = field(default_factory=list)
    answer_ids: list[list[int]] = field(default_factory=list)
    steps: list[int | None] = field(default_factory=list)  # None until its step ends


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
    ) -> None:
        """``reference_samples``: how many of the run's first samples set the zero of every
        feature (their median; see ``reference``). ``tokenizer``: give it to keep each top
        sample's answer text in the summary (off by default: training data may be private).
        ``features``: what samples are ranked on (default: ``default_features``)."""
        self.pack = pack
        self.top = top
        self.reference_samples = reference_samples
        self.tokenizer = tokenizer
        self.features = list(features) if features is not None else default_features(pack)
        self._index: dict[bytes, int] = {}
        self._handles: list[RemovableHandle] = []
        self._batch: _Batch | None = None
        self._window = _Scored()
        self._reference_raw: dict[FeatureKey, list[torch.Tensor]] = {}
        self._units: SampleUnits | None = None
        self._first_step: int | None = None

    @property
    def reference(self) -> str:
        return f"the median of the first {self.reference_samples} training samples of the run"

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
            self._handles.append(module.register_forward_hook(self._pool_hook(hook_point)))

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
        self._batch = _Batch(pooled.unsqueeze(-1).float(), keys, answer_ids)  # answer [b, s, 1]

    def _pool_hook(self, hook_point: str) -> Any:
        def pool(_module: nn.Module, _inputs: Any, output: Any) -> None:
            batch = self._batch
            if batch is None or hook_point in batch.sums:
                return  # not a training forward, or a checkpointing recomputation
            hidden = (output[0] if isinstance(output, tuple) else output).detach()  # [b, s, d]
            batch.sums[hook_point] = answer_token_sums(hidden, batch.answer).cpu()  # [b, d]
            if len(batch.sums) == len(self.pack.hook_points):
                self._score(batch)
                self._batch = None

        return pool

    def _score(self, batch: _Batch) -> None:
        counts = batch.answer.sum(dim=(1, 2)).cpu().clamp_min(1.0)  # [b]
        means = {hook: sums / counts[:, None] for hook, sums in batch.sums.items()}  # [b, d]
        raw = score_activations(self.pack, means)  # {feature: [b]}
        for key in self.features:
            self._window.raw.setdefault(key, []).append(raw[key])
            if self._units is None:
                self._reference_raw.setdefault(key, []).append(raw[key])
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
        """The window since the last summary (None if no sample was scored); starts the next."""
        window, first_step = self._window, self._first_step
        self._window, self._first_step = _Scored(), None
        if not window.keys:
            return None
        raw = {key: torch.cat(parts) for key, parts in window.raw.items()}  # [n] per feature
        shift = largest_shift(self._sample_units().in_units(raw), self.features)
        order = shift.score.argsort(descending=True)[: self.top].tolist()
        return AttributionSummary(
            first_step=first_step if first_step is not None else step,
            last_step=step,
            n_samples=len(window.keys),
            n_above_unit=int((shift.score > 1.0).sum()),
            reference=self.reference,
            top=[
                AttributedSample(
                    index=self._index.get(window.keys[i]),
                    step=window.steps[i] if window.steps[i] is not None else step,
                    score=float(shift.score[i]),
                    feature=" ".join(shift.feature[i]),
                    text=self._text(window.answer_ids[i]),
                )
                for i in order
            ],
        )

    def _sample_units(self) -> SampleUnits:
        """Units with the reference of the first samples; fixed once enough were seen."""
        if self._units is not None:
            return self._units
        reference_raw = {key: torch.cat(parts) for key, parts in self._reference_raw.items()}
        seen = len(next(iter(reference_raw.values())))
        units = sample_units(
            self.pack,
            {key: values[: self.reference_samples] for key, values in reference_raw.items()},
            self.reference,
        )
        if seen >= self.reference_samples:
            self._units, self._reference_raw = units, {}
        return units

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
