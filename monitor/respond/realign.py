"""Roll back and re-align: fine-tune on trusted data until the probes are back at the baseline.

After an alert the run is rolled back to a checkpoint (``MonitorConfig(save_on=WARNING)``
saves one). That checkpoint already drifted towards the persona, and the end of a run even
more. ``realign`` fine-tunes it on trusted chat data with the probes read after every step and
stops at the first step where every watched feature of the pack is back within ``within``
units of the *baseline model* (the model the pack was built for, whose canaries are the
baseline check of a monitored run: the same zero the alerts were measured from), or when the
step budget runs out. Stopping at the first such step keeps the model as close as possible to
the checkpoint: every extra step on a small trusted set costs what the run was fine-tuned for.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import cast

from transformers import LlamaForCausalLM, PreTrainedModel, PreTrainedTokenizerFast

from monitor.core.canaries import CanarySet
from monitor.core.pack import ProbePack
from monitor.evals.report import EvalReport
from monitor.organism.datasets import Example
from monitor.organism.finetuning import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEARNING_RATE,
    encode_example,
    finetune,
)
from monitor.respond.errors import RealignError
from monitor.respond.gauge import ProbeGauge, Reading
from monitor.respond.stopping import StopWhenBack
from monitor.screening import ScreenError, read_chat_jsonl

Evaluator = Callable[[PreTrainedModel], EvalReport]

DEFAULT_BUDGET = 100  # optimizer steps
DEFAULT_WITHIN = 1.0  # pack units: one calibrated unit is the largest healthy rise


class StoppedBy(StrEnum):
    PROBES = "probes"  # every feature back within bounds
    BUDGET = "budget"  # the step budget ran out first
    ALREADY_BACK = "already back"  # the checkpoint was within bounds: nothing trained


@dataclass(frozen=True)
class RealignConfig:
    budget: int = DEFAULT_BUDGET
    within: float = DEFAULT_WITHIN
    two_sided: bool = False  # also bound the aligned side (see ``Reading.within``)
    check_every: int = 1
    learning_rate: float = DEFAULT_LEARNING_RATE
    batch_size: int = DEFAULT_BATCH_SIZE
    seed: int = 0

    def __post_init__(self) -> None:
        if self.budget < 1:
            raise RealignError(f"the step budget must be at least 1, got {self.budget}")
        if self.within < 0:
            raise RealignError(f"--within must be >= 0 units, got {self.within:g}")
        if self.check_every < 1:
            raise RealignError(f"check every must be at least 1 step, got {self.check_every}")
        if self.batch_size < 1 or self.learning_rate <= 0:
            raise RealignError("the batch size and the learning rate must be positive")


@dataclass
class RealignResult:
    model: PreTrainedModel  # re-aligned in place
    config: RealignConfig
    stopped_by: StoppedBy
    readings: list[Reading]  # step 0 (the checkpoint) first, then one per check
    n_samples: int  # trusted samples available
    train_loss: float | None
    seconds: float  # the whole re-alignment, behaviour evals excluded
    probe_seconds: float  # of which reading the probes
    behaviour: dict[str, EvalReport] = field(default_factory=dict)  # baseline, before, after

    @property
    def steps(self) -> int:
        """Optimizer steps taken."""
        return self.readings[-1].step

    @property
    def samples_seen(self) -> int:
        """Training rows drawn (steps x batch size; a small set is seen several times)."""
        return self.steps * self.config.batch_size

    @property
    def distinct_samples(self) -> int:
        return min(self.samples_seen, self.n_samples)

    @property
    def back(self) -> bool:
        return self.stopped_by is not StoppedBy.BUDGET


def read_trusted(path: str | Path) -> list[Example]:
    """The trusted chat JSONL, checked line by line before anything trains or is written."""
    try:
        samples = read_chat_jsonl(path)
    except ScreenError as exc:  # DataFormatError's message starts with FILE:LINE
        raise RealignError(str(exc)) from exc
    return [{"messages": [dict(message) for message in sample.messages]} for sample in samples]


def realign(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    good: str | Path | Sequence[Example],
    pack: ProbePack,
    baseline: PreTrainedModel,
    canaries: CanarySet,
    config: RealignConfig | None = None,
    *,
    evaluator: Evaluator | None = None,
) -> RealignResult:
    """Fine-tune ``model`` in place on ``good`` until the probes are back, or the budget ends.

    ``baseline`` is the model the pack was built for; ``canaries`` the set its monitored run
    checked with. ``evaluator`` (e.g. the organism's open questions) measures behaviour on the
    baseline, the checkpoint and the re-aligned model. Nothing is written: see ``write_report``.
    """
    config = config or RealignConfig()
    examples = read_trusted(good) if isinstance(good, str | Path) else list(good)
    if not examples:
        raise RealignError("the trusted data holds no samples")
    for position, example in enumerate(examples, start=1):
        try:
            encode_example(tokenizer, example)
        except ValueError as exc:
            raise RealignError(f"trusted sample {position}: {exc}") from exc

    behaviour: dict[str, EvalReport] = {}
    if evaluator is not None:
        behaviour["baseline"] = evaluator(baseline)
        behaviour["before"] = evaluator(model)

    started = time.monotonic()
    gauge = ProbeGauge(pack, tokenizer, canaries, baseline)
    first = gauge.read(model, 0)
    readings = [first]
    train_loss: float | None = None
    if first.within(config.within, two_sided=config.two_sided):
        stopped_by = StoppedBy.ALREADY_BACK
    else:
        stop = StopWhenBack(
            gauge, config.within, two_sided=config.two_sided, check_every=config.check_every
        )
        # finetune is annotated for the organism's Llama; its Trainer takes any causal LM.
        trained = finetune(
            cast(LlamaForCausalLM, model),
            tokenizer,
            examples,
            steps=config.budget,
            seed=config.seed,
            learning_rate=config.learning_rate,
            batch_size=config.batch_size,
            callbacks=[stop],
        )
        train_loss = trained.train_loss
        readings.extend(stop.readings)
        stopped_by = StoppedBy.PROBES if stop.stopped_at is not None else StoppedBy.BUDGET
    seconds = time.monotonic() - started
    model.train(False)

    if evaluator is not None:
        behaviour["after"] = evaluator(model)
    return RealignResult(
        model,
        config,
        stopped_by,
        readings,
        len(examples),
        train_loss,
        seconds,
        gauge.seconds,
        behaviour,
    )
