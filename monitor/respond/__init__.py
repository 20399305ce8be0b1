"""Responding to an alert: roll back to a checkpoint and re-align it on trusted data.

``realign`` fine-tunes a checkpoint on trusted chat data with the probes read after every step
and stops when every watched feature of the pack is back within its unit of the baseline model
(or the step budget runs out); ``emwatch realign`` is the command (``monitor/cli/realign.py``).

Modules: ``gauge`` (a model's z-scores against the baseline, as the service computes them),
``stopping`` (the trainer callback that stops on them), ``realign`` (the whole re-alignment),
``report`` (its files), ``errors``.
"""

from monitor.respond.errors import RealignError
from monitor.respond.gauge import ProbeGauge, Reading
from monitor.respond.realign import (
    DEFAULT_BUDGET,
    DEFAULT_WITHIN,
    RealignConfig,
    RealignResult,
    StoppedBy,
    read_trusted,
    realign,
)
from monitor.respond.report import report_json, write_report

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_WITHIN",
    "ProbeGauge",
    "Reading",
    "RealignConfig",
    "RealignError",
    "RealignResult",
    "StoppedBy",
    "read_trusted",
    "realign",
    "report_json",
    "write_report",
]
