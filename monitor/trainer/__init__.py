"""The trainer side: what runs inside the user's training process.

    from monitor.trainer import EmwatchCallback, MonitorConfig, Severity

``callback`` (``transformers.Trainer``) wraps ``training_monitor`` (any loop), which captures
pooled canary activations (``capture``), encodes them with the core's wire format and hands
them to ``sender``, a background thread that posts them with ``client`` and falls back to
``spool`` on disk; ``recording`` keeps them for calibration and ``distributed`` makes every
rank act on rank 0's decision. It imports the core only and talks to the service over HTTP.

Names are imported on first use, so importing ``monitor.trainer.client`` (the CLI does) does
not pay for torch and transformers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.core.detect import DetectorConfig, Severity
    from monitor.trainer.callback import EmwatchCallback
    from monitor.trainer.training_monitor import MonitorConfig, TrainingMonitor

_MODULE_OF = {
    "DetectorConfig": "monitor.core.detect",
    "Severity": "monitor.core.detect",
    "EmwatchCallback": "monitor.trainer.callback",
    "MonitorConfig": "monitor.trainer.training_monitor",
    "TrainingMonitor": "monitor.trainer.training_monitor",
}

__all__ = ["DetectorConfig", "EmwatchCallback", "MonitorConfig", "Severity", "TrainingMonitor"]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor.trainer' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
