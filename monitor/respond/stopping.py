"""The trainer callback that reads the probes after each step and stops once they are back.

It stops the ``transformers.Trainer`` at the end of the very step whose weights were measured
within bounds, so the model a re-alignment returns is exactly the one that met the bar (no
step later, unlike a service round trip, whose answer arrives while the next step runs).
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from typing_extensions import override

from monitor.respond.gauge import ProbeGauge, Reading


class StopWhenBack(TrainerCallback):
    """Reads ``gauge`` every ``check_every`` steps (and at the last); stops when within."""

    def __init__(
        self, gauge: ProbeGauge, within: float, *, two_sided: bool = False, check_every: int = 1
    ) -> None:
        if check_every < 1:
            raise ValueError("check_every must be at least 1")
        self.gauge = gauge
        self.within = within
        self.two_sided = two_sided
        self.check_every = check_every
        self.readings: list[Reading] = []
        self.stopped_at: int | None = None  # the step the probes were back at, if they were

    @override
    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        step = state.global_step
        if step % self.check_every and step < state.max_steps:
            return
        reading = self.gauge.read(kwargs["model"], step)
        self.readings.append(reading)
        if reading.within(self.within, two_sided=self.two_sided):
            self.stopped_at = step
            control.should_training_stop = True
