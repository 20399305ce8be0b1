"""``transformers.Trainer`` integration (TRL's ``SFTTrainer`` and peft models included).

    trainer = Trainer(..., callbacks=[EmwatchCallback(MonitorConfig(
        url="http://127.0.0.1:8321", token=os.environ["EMWATCH_TOKEN"], run="sft-7",
        probe_pack="packs/llama-8b", check_every=50, stop_on=Severity.CRITICAL))])

The world-process-zero rank registers the run, sends the step-0 baseline in
``on_train_begin`` (or, resumed from a checkpoint, continues the run from its step) and a
check every ``check_every`` steps, captured under the Trainer's own bf16/fp16 autocast. Under
torch.distributed the stop/save decision is broadcast from rank 0 at every step, so all ranks
act together. Each check's numbers reach the Trainer's log stream (``trainer_logs``) at the
step after the check, where every rank asks for a log event.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from transformers import (
    IntervalStrategy,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from typing_extensions import override

from monitor.trainer.attribution import dataset_token_ids
from monitor.trainer.capture import ChatTokenizer
from monitor.trainer.distributed import broadcast_flags, is_distributed
from monitor.trainer.trainer_logs import LogRelay, install_first
from monitor.trainer.training_monitor import MonitorConfig, TrainingMonitor

log = logging.getLogger("emwatch.monitor")


class EmwatchCallback(TrainerCallback):
    def __init__(self, config: MonitorConfig, tokenizer: ChatTokenizer | None = None) -> None:
        """``tokenizer`` defaults to the Trainer's ``processing_class``."""
        self.config = config
        self.tokenizer = tokenizer
        self.monitor: TrainingMonitor | None = None
        self.log_relay = LogRelay(self._log_values)

    @override
    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        install_first(self.log_relay)
        if not state.is_world_process_zero:
            return
        tokenizer = self.tokenizer or kwargs.get("processing_class") or kwargs.get("tokenizer")
        if tokenizer is None:
            raise ValueError(
                "EmwatchCallback needs a tokenizer: pass it to the callback or "
                "to the Trainer as processing_class"
            )
        self.monitor = TrainingMonitor(self._config_for(args), tokenizer)
        self.monitor.start(kwargs["model"], step=state.global_step)
        if self.monitor.attribution is not None:
            self._index_training_data(self.monitor, kwargs.get("train_dataloader"))

    @staticmethod
    def _index_training_data(monitor: TrainingMonitor, loader: Any) -> None:
        samples = dataset_token_ids(getattr(loader, "dataset", None))
        if samples is None:
            log.warning(
                "emwatch: the training dataset has no input_ids column by index (an iterable "
                "or untokenised dataset); attributed samples are named by step only"
            )
            return
        monitor.index_dataset(samples)

    def _config_for(self, args: TrainingArguments) -> MonitorConfig:
        """The config, capturing under the Trainer's mixed precision unless it names its own."""
        if self.config.autocast is not None or not (args.bf16 or args.fp16):
            return self.config
        return replace(self.config, autocast="bfloat16" if args.bf16 else "float16")

    @override
    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        stop = save = False
        last_step = state.global_step >= state.max_steps
        if self.monitor is not None:
            stop = self.monitor.after_step(kwargs["model"], state.global_step)
            if last_step or stop:  # the last numbers go into this step's log event
                self.monitor.wait_for_answers(self.config.answer_wait)
            save = self.monitor.take_save_request()
        if self.config.stop_on is not None or self.config.save_on is not None:
            if is_distributed():
                stop, save = broadcast_flags(stop, save)
            control.should_training_stop = control.should_training_stop or stop
            control.should_save = control.should_save or save
        answer_due = (state.global_step - 1) % self.config.check_every == 0
        if args.logging_strategy != IntervalStrategy.NO and (last_step or stop or answer_due):
            control.should_log = True  # the same on every rank: logging gathers the loss

    def _log_values(self) -> dict[str, float]:
        return self.monitor.take_log_values() if self.monitor is not None else {}

    @override
    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.monitor is not None:
            self.monitor.close()
