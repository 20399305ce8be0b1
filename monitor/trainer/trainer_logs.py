"""emwatch's numbers in the Trainer's own log stream, next to the loss.

People watch training in W&B, TensorBoard, MLflow or Comet through ``transformers``' reporting
callbacks, which write whatever a log event carries. After a check's answer arrives, its
numbers go into the next log event under ``emwatch/``: the strongest z-score, the z-score of
each watched feature (at most ``max_features``, in a fixed order so every series stays one
series), the number of pending and firing alerts, the highest firing severity, the step the
numbers belong to, and the seconds the check took from the training loop.

transformers calls callbacks in list order and puts the reporting integrations before the
user's callbacks, so a value that ``EmwatchCallback.on_log`` added would reach them never. The
callback therefore puts a small relay first in the list; the list is not handed to callbacks,
so the relay is inserted through the handler that is calling the callback at train begin.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_callback import CallbackHandler
from typing_extensions import override

from monitor.core.detect import Severity

PREFIX = "emwatch/"
# 0: nothing firing, 1: a warning, 2: a critical alert.
_ALERT_LEVEL = {severity: severity.rank + 1 for severity in Severity}


def metric_name(*parts: str) -> str:
    """``emwatch/<parts>``, with characters some trackers refuse (MLflow: ``:``) as ``_``."""
    return PREFIX + "/".join(re.sub(r"[^\w.\-]", "_", part) for part in parts)


def answer_log_values(
    step: int, answer: Mapping[str, Any], *, max_features: int
) -> dict[str, float]:
    """The log values of one check answer (``CheckResult`` as JSON)."""
    signals = sorted(answer.get("signals", []), key=lambda s: (s["hook_point"], s["feature"]))
    alerts = answer.get("alerts", [])
    firing = [Severity(a["severity"]) for a in alerts if a["state"] == "firing"]
    values = {
        metric_name("check_step"): float(step),
        metric_name("alerts_firing"): float(len(firing)),
        metric_name("alerts_pending"): float(sum(a["state"] == "pending" for a in alerts)),
        metric_name("alert_level"): float(max((_ALERT_LEVEL[s] for s in firing), default=0)),
    }
    if signals:
        values[metric_name("max_zscore")] = max(float(s["zscore"]) for s in signals)
    for signal in signals[:max_features]:
        values[metric_name("z", signal["hook_point"], signal["feature"])] = float(signal["zscore"])
    return values


class LogRelay(TrainerCallback):
    """Adds what ``source`` returns to every log event, before any reporter writes it."""

    def __init__(self, source: Callable[[], dict[str, float]]) -> None:
        self.source = source

    @override
    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        values = self.source()
        if not values or logs is None:
            return
        logs.update(values)
        if state.log_history:  # Trainer.log appended this event just before calling on_log
            state.log_history[-1].update(values)


def install_first(relay: TrainerCallback) -> bool:
    """Put ``relay`` first among the callbacks of the handler that is calling the caller.

    Call it from a callback event. Returns False if no ``CallbackHandler`` is calling (the
    callback was called by hand), leaving nothing changed.
    """
    frame = inspect.currentframe()
    for _ in range(8):  # this function, the callback's event method, the handler, ...
        if frame is None:
            return False
        handler = frame.f_locals.get("self")
        if isinstance(handler, CallbackHandler):
            if relay not in handler.callbacks:  # a new list: the handler is iterating the old one
                handler.callbacks = [relay, *handler.callbacks]
            return True
        frame = frame.f_back
    return False
