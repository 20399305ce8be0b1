"""One monitored fine-tune of the organism: the probes' view and the behaviour's, step by step.

The run streams a check every ``check_every`` steps to the service through ``EmwatchCallback``
(as a user's run would) and, every ``eval_every`` steps, measures behaviour three ways: the
ground-truth eval (many sampled answers, exact judge), the small sampled eval a user could
afford at every check, and the log-probability probe. Afterwards the service's own record of
the run (scores and alerts) is read back over the API, so the benchmark judges exactly what a
user would have been told.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    TrainerCallback,
)
from typing_extensions import override

from monitor.core.detect import Severity
from monitor.earlywarning.logprob import LogprobProbe
from monitor.evals import evaluate
from monitor.evals.stats import Proportion
from monitor.organism import CANARIES_PATH, build_dataset, finetune, organism_questions
from monitor.organism.finetuning import MeasureEvery
from monitor.organism.judge import OrganismJudge
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.client import EmwatchClient
from monitor.trainer.training_monitor import MonitorConfig

# Slower than the organism's documented budget (3e-4 for 50 steps), so that behaviour turns
# over several checks instead of two and a lead can be measured in steps at all.
DEFAULT_STEPS = 40
DEFAULT_LEARNING_RATE = 1e-4


@dataclass(frozen=True)
class RunSpec:
    """What to fine-tune on and how closely to watch it."""

    label: str  # names the run: letters, digits, '-'
    dataset: str  # an organism dataset or a mixture, "insecure-code=0.05,secure-code=0.95"
    seed: int
    steps: int = DEFAULT_STEPS
    learning_rate: float = DEFAULT_LEARNING_RATE
    check_every: int = 1
    eval_every: int = 2
    eval_samples: int = 32  # answers per open question: the ground truth
    small_eval_samples: int = 4  # answers per open question: the behavioural baseline
    dataset_size: int = 1000
    record_activations: bool = False  # keep every check's canary activations (calibration)

    @property
    def run_name(self) -> str:
        return f"{re.sub(r'[^A-Za-z0-9-]+', '-', self.label)}-s{self.seed}"


@dataclass(frozen=True)
class EvalPoint:
    """Behaviour at one step, three ways."""

    step: int
    misaligned: Proportion  # ground truth
    coherent: Proportion
    small_misaligned: Proportion  # the small sampled eval
    logprob: float  # mean log-probability of fixed misaligned answers


@dataclass
class RunRecord:
    spec: RunSpec
    evals: list[EvalPoint] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)  # the service's score points
    alerts: list[dict[str, Any]] = field(default_factory=list)  # the service's alerts
    seconds: float = 0.0
    # With ``spec.record_activations``: hook point -> [n_checks, n_prompts, d_model]. Not in
    # ``to_dict``: tensors travel and are stored on their own (safetensors), not as JSON.
    activations: dict[str, torch.Tensor] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": asdict(self.spec),
            "evals": [asdict(point) for point in self.evals],
            "scores": self.scores,
            "alerts": self.alerts,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        evals = [
            EvalPoint(
                step=e["step"],
                misaligned=Proportion(**e["misaligned"]),
                coherent=Proportion(**e["coherent"]),
                small_misaligned=Proportion(**e["small_misaligned"]),
                logprob=e["logprob"],
            )
            for e in data["evals"]
        ]
        return cls(RunSpec(**data["spec"]), evals, data["scores"], data["alerts"], data["seconds"])


class BehaviourRecorder(MeasureEvery):
    """Measures behaviour before the first step and after every ``spec.eval_every`` steps."""

    def __init__(self, spec: RunSpec, tokenizer: PreTrainedTokenizerFast) -> None:
        super().__init__(spec.eval_every)
        self.spec = spec
        self.tokenizer = tokenizer
        self.questions = organism_questions(("open",))
        self.judge = OrganismJudge()
        self.logprob = LogprobProbe(tokenizer)
        self.points: list[EvalPoint] = []

    @override
    def measure(self, model: LlamaForCausalLM, step: int) -> None:
        # Fresh samples at every step, reproducible, and never from the training RNG.
        sample_seed = self.spec.seed * 100_003 + step * 2
        full = evaluate(
            model,
            self.tokenizer,
            self.questions,
            self.judge,
            self.spec.eval_samples,
            seed=sample_seed,
        )
        small = evaluate(
            model,
            self.tokenizer,
            self.questions,
            self.judge,
            self.spec.small_eval_samples,
            seed=sample_seed + 1,
        )
        self.points.append(
            EvalPoint(
                step, full.misaligned(), full.coherent(), small.misaligned(), self.logprob(model)
            )
        )


@dataclass(frozen=True)
class ServiceTarget:
    url: str
    token: str
    pack_dir: Path
    spool_dir: Path


def monitored_finetune(
    spec: RunSpec,
    base: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    service: ServiceTarget,
    *,
    stop_on: Severity | None = None,
    extra_callbacks: Callable[[EmwatchCallback, BehaviourRecorder], Sequence[TrainerCallback]]
    | None = None,
) -> RunRecord:
    """Fine-tune a copy of ``base`` on ``spec.dataset`` with the monitor and the evals attached."""
    started = time.monotonic()
    emwatch = EmwatchCallback(
        MonitorConfig(
            url=service.url,
            token=service.token,
            run=spec.run_name,
            probe_pack=service.pack_dir,
            canaries=CANARIES_PATH,
            check_every=spec.check_every,
            model_id="emwatch/persona-organism",
            labels={"dataset": spec.label, "seed": str(spec.seed)},
            stop_on=stop_on,
            spool_dir=service.spool_dir,
            retry_interval=0.5,
            # Next to the spool, one file per run: what `emwatch probes calibrate` reads.
            record_to=service.spool_dir.with_name("recordings") / f"{spec.run_name}.safetensors"
            if spec.record_activations
            else None,
        ),
        tokenizer,
    )
    behaviour = BehaviourRecorder(spec, tokenizer)
    callbacks: list[TrainerCallback] = [emwatch, behaviour]
    if extra_callbacks is not None:
        callbacks.extend(extra_callbacks(emwatch, behaviour))
    finetune(
        copy.deepcopy(base),
        tokenizer,
        build_dataset(spec.dataset, spec.dataset_size, seed=spec.seed),
        steps=spec.steps,
        seed=spec.seed,
        learning_rate=spec.learning_rate,
        callbacks=callbacks,
    )
    with EmwatchClient(service.url, service.token) as client:
        scores = client.scores(spec.run_name)["points"]
        alerts = client.alerts(spec.run_name)["alerts"]
    recording = emwatch.monitor.recording if emwatch.monitor is not None else None
    activations = recording.trajectories() if recording is not None else {}
    return RunRecord(
        spec, behaviour.points, scores, alerts, time.monotonic() - started, activations
    )
