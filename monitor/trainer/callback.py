"""``transformers.Trainer`` integration.

    trainer = Trainer(..., callbacks=[EmwatchCallback(MonitorConfig(
        url="http://127.0.0.1:8321", token=os.environ["EMWATCH_TOKEN"], run="sft-7",
        probe_pack="packs/llama-8b", check_every=50, stop_on=Severity.CRITICAL))])

The world-process-zero rank registers the run, sends the step-0 baseline in
``on_train_begin`` and a check every ``check_every`` steps. Under torch.distributed the
stop/save decision is broadcast from rank 0 at every step, so all ranks act together.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from typing_extensions import override

from monitor.trainer.capture import ChatTokenizer
from monitor.trainer.distributed import broadcast_flags, is_distributed
from monitor.trainer.training_monitor import MonitorConfig, TrainingMonitor


class EmwatchCallback(TrainerCallback):
    def __init__(self, config: MonitorConfig, tokenizer: ChatTokenizer | None = None) -> None:
        """``tokenizer`` defaults to the Trainer's ``processing_class``."""
        self.config = config
        self.tokenizer = tokenizer
        self.monitor: TrainingMonitor | None = None

    @override
    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        tokenizer = self.tokenizer or kwargs.get("processing_class") or kwargs.get("tokenizer")
        if tokenizer is None:
            raise ValueError(
                "EmwatchCallback needs a tokenizer: pass it to the callback or "
                "to the Trainer as processing_class"
            )
        self.monitor = TrainingMonitor(self.config, tokenizer)
        self.monitor.start(kwargs["model"], step=state.global_step)

    @override
    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        stop = save = False
        if self.monitor is not None:
            stop = self.monitor.after_step(kwargs["model"], state.global_step)
            save = self.monitor.take_save_request()
        if self.config.stop_on is not None or self.config.save_on is not None:
            if is_distributed():
                stop, save = broadcast_flags(stop, save)
            control.should_training_stop = control.should_training_stop or stop
            control.should_save = control.should_save or save

    @override
    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.monitor is not None:
            self.monitor.close()
