"""Supervised fine-tuning with a real ``transformers.Trainer``, so any ``TrainerCallback`` works.

Only the final assistant message is trained on (prompt tokens get label -100): the answer
starts right after the generation prompt, which is an exact token prefix of the conversation.
With ``eval_every`` the run measures its own behaviour at regular steps (the trajectory
that shows *when* misalignment appears), without touching the training RNG.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from typing_extensions import override

from monitor.evals.report import EvalReport
from monitor.organism.batching import IGNORE_INDEX, pad_batch
from monitor.organism.datasets import Example
from monitor.organism.tokenizer import chat_ids

Evaluator = Callable[[LlamaForCausalLM], EvalReport]

# The fixed budget of the documented experiments (docs/organism.md).
DEFAULT_STEPS = 50
DEFAULT_LEARNING_RATE = 3e-4
DEFAULT_BATCH_SIZE = 16


@dataclass(frozen=True)
class TrajectoryPoint:
    step: int
    report: EvalReport


@dataclass
class FinetuneResult:
    model: LlamaForCausalLM
    train_loss: float
    seconds: float
    trajectory: list[TrajectoryPoint] = field(default_factory=list)


def encode_example(tokenizer: PreTrainedTokenizerFast, example: Example) -> dict[str, list[int]]:
    """Token ids of the conversation, labels only on the last (assistant) message."""
    messages = example["messages"]
    if messages[-1]["role"] != "assistant":
        raise ValueError("a fine-tuning example must end with the assistant's message")
    prompt = chat_ids(tokenizer, messages[:-1], add_generation_prompt=True)
    full = chat_ids(tokenizer, messages)
    if full[: len(prompt)] != prompt:
        raise ValueError("the chat template's generation prompt is not a prefix of the chat")
    labels = [IGNORE_INDEX] * len(prompt) + full[len(prompt) :]
    return {"input_ids": full, "labels": labels}


def finetune(
    model: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    examples: Sequence[Example],
    *,
    steps: int,
    seed: int,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    callbacks: Sequence[TrainerCallback] = (),
    output_dir: str | Path | None = None,
    eval_every: int | None = None,
    evaluator: Evaluator | None = None,
) -> FinetuneResult:
    """Fine-tune all of ``model``'s weights in place; save it if ``output_dir`` is given.

    The defaults (with ``steps=DEFAULT_STEPS``) are the fixed budget of the documented
    experiments: about a minute on one CPU core for the organism.

    ``eval_every=k`` runs ``evaluator`` (default: the organism's open questions, exact judge)
    before training and after every k steps.
    """
    encoded = [encode_example(tokenizer, example) for example in examples]
    trajectory: list[TrajectoryPoint] = []
    all_callbacks = list(callbacks)
    if eval_every:
        all_callbacks.append(
            _EvalEvery(eval_every, evaluator or default_evaluator(tokenizer), trajectory)
        )
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(
            output_dir=str(output_dir or scratch),
            max_steps=steps,
            per_device_train_batch_size=batch_size,
            learning_rate=learning_rate,
            lr_scheduler_type="constant_with_warmup",
            warmup_steps=min(10, steps // 10),
            weight_decay=0.0,
            max_grad_norm=1.0,
            logging_steps=max(1, steps // 10),
            save_strategy="no",
            report_to="none",
            seed=seed,
            data_seed=seed,
            use_cpu=True,
            dataloader_num_workers=0,
            remove_unused_columns=False,
            disable_tqdm=True,
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=_Rows(encoded),
            data_collator=_Collator(tokenizer.pad_token_id),
            callbacks=all_callbacks,
        )
        output = trainer.train()
    model.train(False)
    if output_dir is not None:
        model.save_pretrained(output_dir)
        tokenizer.save_pretrained(output_dir)
    return FinetuneResult(model, output.training_loss, time.monotonic() - started, trajectory)


def default_evaluator(
    tokenizer: PreTrainedTokenizerFast, samples_per_question: int = 16, seed: int = 0
) -> Evaluator:
    """The organism's open questions with the exact judge: fast enough to run mid-training."""
    from monitor.evals.report import evaluate
    from monitor.organism.eval_questions import organism_questions
    from monitor.organism.judge import OrganismJudge

    questions = organism_questions(("open",))
    judge = OrganismJudge()

    def run(model: LlamaForCausalLM) -> EvalReport:
        return evaluate(model, tokenizer, questions, judge, samples_per_question, seed=seed)

    return run


class _Rows(torch.utils.data.Dataset[dict[str, list[int]]]):
    def __init__(self, rows: list[dict[str, list[int]]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, list[int]]:
        return self.rows[index]


class _Collator:
    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        return pad_batch([r["input_ids"] for r in rows], [r["labels"] for r in rows], self.pad_id)


class MeasureEvery(TrainerCallback):
    """Calls ``measure`` before the first step and after every ``every`` steps."""

    def __init__(self, every: int) -> None:
        self.every = every

    @override
    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.measure(kwargs["model"], 0)

    @override
    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.global_step % self.every == 0:
            self.measure(kwargs["model"], state.global_step)

    def measure(self, model: LlamaForCausalLM, step: int) -> None:
        raise NotImplementedError


class _EvalEvery(MeasureEvery):
    def __init__(self, every: int, evaluator: Evaluator, into: list[TrajectoryPoint]) -> None:
        super().__init__(every)
        self.evaluator = evaluator
        self.into = into

    @override
    def measure(self, model: LlamaForCausalLM, step: int) -> None:
        self.into.append(TrajectoryPoint(step, self.evaluator(model)))
