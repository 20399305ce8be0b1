"""One monitored adapter fine-tune of a real chat model, with behaviour measured without a judge.

The run is what a user would run: TRL's ``SFTTrainer`` with a peft adapter on one of the
English narrow sets (``monitor.english``), ``EmwatchCallback`` sending a check every
``check_every`` steps to a real service (and recording the canary activations, so the same
run can later be replayed with other units). Every ``eval_every`` steps the held-out
preference (``ReferencePreference``) is measured and a few answers to held-out questions are
sampled, for a person to read.

Two adapters, both published routes to emergent misalignment: LoRA of rank 8 on every linear
layer, and the minimal organism of Turner et al. 2025: rank-1 adapters on ``mlp.down_proj`` in
three groups of three consecutive layers, placed at the same relative depths as their
Qwen2.5-14B layers 15-17, 21-23 and 27-29 of 48.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel
from typing_extensions import override

from monitor.earlywarning.preference import ReferencePreference
from monitor.earlywarning.runs import ServiceTarget
from monitor.english import build_set, load_heldout_questions
from monitor.evals import sample_answers
from monitor.organism.finetuning import MeasureEvery
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.client import EmwatchClient
from monitor.trainer.training_monitor import MonitorConfig

RANK1_GROUP_STARTS = (15 / 48, 21 / 48, 27 / 48)  # Turner et al.'s groups, as depth fractions


@dataclass(frozen=True)
class Adapter:
    name: str
    rank: int
    alpha: int
    learning_rate: float
    all_linear: bool  # else rank-1 groups on mlp.down_proj

    def targets(self, n_layers: int) -> str | list[str]:
        if self.all_linear:
            return "all-linear"
        starts = [round(fraction * n_layers) for fraction in RANK1_GROUP_STARTS]
        layers = sorted({min(s + i, n_layers - 1) for s in starts for i in range(3)})
        return [f"model.layers.{layer}.mlp.down_proj" for layer in layers]


@dataclass(frozen=True)
class RealRunSpec:
    dataset: str  # one of monitor.english.FINETUNING_SETS
    seed: int  # adapter initialisation and data order; the set itself is always seed 0
    adapter: str  # a key of ADAPTERS
    steps: int = 60
    batch_size: int = 4
    check_every: int = 2
    eval_every: int = 10
    n_samples: int = 600
    max_length: int = 320
    sampled_questions: int = 3  # held-out questions answered at each eval, for a person

    @property
    def run_name(self) -> str:
        return f"{self.adapter}-{self.dataset}-s{self.seed}"


@dataclass
class PreferencePoint:
    step: int
    per_question: list[float]
    answers: list[dict[str, str]] = field(default_factory=list)


@dataclass
class RealRunRecord:
    spec: RealRunSpec
    preference: list[PreferencePoint] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)  # the service's score points
    alerts: list[dict[str, Any]] = field(default_factory=list)  # the service's alerts
    losses: list[tuple[int, float]] = field(default_factory=list)
    recording: str | None = None  # the run's canary activations (safetensors)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RealRunRecord:
        record = cls(**{**data, "spec": RealRunSpec(**data["spec"])})
        record.preference = [PreferencePoint(**p) for p in data["preference"]]
        record.losses = [(int(s), float(v)) for s, v in data["losses"]]
        return record


class PreferenceRecorder(MeasureEvery):
    """The held-out preference before the first step and every ``eval_every`` steps."""

    def __init__(self, spec: RealRunSpec, tokenizer: Any) -> None:
        super().__init__(spec.eval_every)
        self.spec = spec
        self.tokenizer = tokenizer
        questions = load_heldout_questions()
        self.preference = ReferencePreference(tokenizer, questions)
        self.sampled = [
            [{"role": "user", "content": q.text}] for q in questions[: spec.sampled_questions]
        ]
        self.points: list[PreferencePoint] = []

    @override
    def measure(self, model: Any, step: int) -> None:
        texts = sample_answers(
            model,
            self.tokenizer,
            self.sampled,
            samples=1,
            seed=self.spec.seed * 1009 + step,
            max_new_tokens=48,
        )
        answers = [
            {"question": chat[0]["content"], "answer": answer[0]}
            for chat, answer in zip(self.sampled, texts, strict=True)
        ]
        self.points.append(PreferencePoint(step, self.preference(model), answers))


def load_model(model_dir: str | Path) -> tuple[PreTrainedModel, Any]:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    return model, tokenizer


def run_real(
    spec: RealRunSpec, model_dir: str | Path, service: ServiceTarget, recordings: Path
) -> RealRunRecord:
    """Fine-tune a fresh copy of the model at ``model_dir`` as ``spec`` says, monitored."""
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from trl.trainer.sft_config import SFTConfig
    from trl.trainer.sft_trainer import SFTTrainer

    started = time.monotonic()
    adapter = ADAPTERS[spec.adapter]
    torch.manual_seed(spec.seed)  # the adapter's initialisation
    model, tokenizer = load_model(model_dir)
    peft_model = get_peft_model(
        model,
        LoraConfig(
            r=adapter.rank,
            lora_alpha=adapter.alpha,
            lora_dropout=0.0,
            target_modules=adapter.targets(model.config.num_hidden_layers),
            task_type="CAUSAL_LM",
        ),
    )
    rows = build_set(spec.dataset, spec.n_samples, seed=0)
    data = Dataset.from_list(
        [{"prompt": row["messages"][:-1], "completion": row["messages"][-1:]} for row in rows]
    )
    recordings.mkdir(parents=True, exist_ok=True)
    recording = recordings / f"{spec.run_name}.safetensors"
    emwatch = EmwatchCallback(
        MonitorConfig(
            url=service.url,
            token=service.token,
            run=spec.run_name,
            probe_pack=service.pack_dir,
            check_every=spec.check_every,
            model_id=str(model_dir),
            labels={"dataset": spec.dataset, "adapter": spec.adapter, "seed": str(spec.seed)},
            spool_dir=service.spool_dir,
            retry_interval=0.5,
            record_to=recording,
        ),
        tokenizer,
    )
    behaviour = PreferenceRecorder(spec, tokenizer)
    with tempfile.TemporaryDirectory(prefix="emwatch-real-") as scratch:
        trainer = SFTTrainer(
            model=peft_model,
            args=SFTConfig(
                output_dir=scratch,
                max_steps=spec.steps,
                per_device_train_batch_size=spec.batch_size,
                learning_rate=adapter.learning_rate,
                lr_scheduler_type="constant",
                max_length=spec.max_length,
                completion_only_loss=True,
                bf16=False,  # TRL turns bf16 on by default; the checks compare float32 runs
                logging_steps=5,
                save_strategy="no",
                report_to=[],
                seed=spec.seed,
                data_seed=spec.seed,
                disable_tqdm=True,
            ),
            train_dataset=data,
            processing_class=tokenizer,
            callbacks=[emwatch, behaviour],
        )
        trainer.train()
        losses = [
            (int(e["step"]), float(e["loss"])) for e in trainer.state.log_history if "loss" in e
        ]
    with EmwatchClient(service.url, service.token) as client:
        scores = client.scores(spec.run_name)["points"]
        alerts = client.alerts(spec.run_name)["alerts"]
    return RealRunRecord(
        spec,
        behaviour.points,
        scores,
        alerts,
        losses,
        str(recording),
        time.monotonic() - started,
    )


ADAPTERS: dict[str, Adapter] = {
    "lora-r8": Adapter("lora-r8", rank=8, alpha=16, learning_rate=2e-4, all_linear=True),
    "rank1-down": Adapter("rank1-down", rank=1, alpha=16, learning_rate=1e-3, all_linear=False),
}
