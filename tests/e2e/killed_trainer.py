"""A monitored Trainer that SIGKILLs itself after a given step (run by test_trainer_resume).

    python -m tests.e2e.killed_trainer CONFIG.json

The config names the service, the pack, the run, the output and spool folders, the step after
which the training diverges from what a resumed trainer will do, the step to die after and the
Trainer's arguments. The process dies once the checks it took are answered, as a trainer killed
by its scheduler between two steps would: nothing is flushed or marked finished.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import (
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.trainer_utils import SaveStrategy

from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import make_trainer
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.training_monitor import MonitorConfig


def monitor_config(settings: dict[str, Any]) -> MonitorConfig:
    """A MonitorConfig from JSON-able settings (paths as strings)."""
    paths = {key: Path(settings[key]) for key in ("probe_pack", "spool_dir")}
    return MonitorConfig(**settings | paths)


def checkpointing_trainer(
    model: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    output_dir: Path,
    *,
    save_steps: int,
    callbacks: Sequence[TrainerCallback],
    **arguments: Any,
) -> Trainer:
    """The tiny loop's Trainer, saving a checkpoint every ``save_steps``."""
    trainer = make_trainer(model, tokenizer, output_dir, callbacks=callbacks, **arguments)
    trainer.args.save_strategy, trainer.args.save_steps = SaveStrategy.STEPS, save_steps
    return trainer


class DivergeThenDie(TrainerCallback):
    """Steps after ``diverge_after`` train at 10x the learning rate, so the branch this process
    leaves behind differs from the one a resumed trainer takes (as it does whenever training is
    not bit-reproducible); after ``step`` the process SIGKILLs itself."""

    def __init__(self, emwatch: EmwatchCallback, diverge_after: int, step: int) -> None:
        self.emwatch, self.diverge_after, self.step = emwatch, diverge_after, step

    def on_step_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.global_step >= self.diverge_after:  # steps completed so far
            for group in kwargs["optimizer"].param_groups:
                group["lr"] = 10 * args.learning_rate

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if state.global_step == self.step:
            assert self.emwatch.monitor is not None and self.emwatch.monitor.sender is not None
            self.emwatch.monitor.sender.wait_idle(60)
            os.kill(os.getpid(), signal.SIGKILL)


def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())
    model, tokenizer = build_tiny_llama(seed=config["seed"])
    emwatch = EmwatchCallback(monitor_config(config["monitor"]))
    trainer = checkpointing_trainer(
        model,
        tokenizer,
        Path(config["output_dir"]),
        callbacks=[emwatch, DivergeThenDie(emwatch, config["diverge_after"], config["kill_after"])],
        **config["trainer"],
    )
    trainer.train()
    raise SystemExit(f"trained to step {trainer.state.global_step} without being killed")


if __name__ == "__main__":
    main(sys.argv[1])
