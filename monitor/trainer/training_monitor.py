"""The trainer-side monitor, for any training loop.

    monitor = TrainingMonitor(MonitorConfig(url=..., token=..., run="ft-1",
                                            probe_pack="packs/my-model"), tokenizer)
    monitor.start(model)                      # registers the run, sends the step-0 baseline
    for step in range(1, steps + 1):
        train_step(...)
        if monitor.after_step(model, step):   # checks every `check_every` steps
            break                             # an alert at `stop_on` severity is firing
    monitor.close()

``EmwatchCallback`` wraps exactly this for ``transformers.Trainer``. Capture runs in the
training thread (it needs the model at that step); encoding happens here and sending in a
background thread. Nothing raises into training unless ``strict=True``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from monitor.core.canaries import CanarySet, load_canaries
from monitor.core.detect import DetectorConfig, Severity
from monitor.core.naming import check_run_name
from monitor.core.pack.pack import read_manifest
from monitor.core.wire import Check, encode_check
from monitor.trainer.capture import ActivationCapture, ChatTokenizer
from monitor.trainer.client import EmwatchClient, ServiceError
from monitor.trainer.recording import CheckRecording
from monitor.trainer.sender import CheckSender
from monitor.trainer.spool import DEFAULT_SPOOL_DIR, Spool

log = logging.getLogger("emwatch.monitor")


class MonitorError(RuntimeError):
    """Raised into training only in strict mode."""


@dataclass
class MonitorConfig:
    url: str
    run: str
    probe_pack: str | Path  # a local pack directory (uploaded if needed) or a registered name
    token: str | None = None
    check_every: int = 50
    hook_points: list[str] | None = None  # needed only for a pack name with the service down
    canaries: CanarySet | str | Path | None = None  # default: the shipped 16-prompt set
    model_id: str = ""
    detector: DetectorConfig | None = None  # default: the pack's calibrated one, else service's
    labels: dict[str, str] = field(default_factory=dict)
    stop_on: Severity | None = None  # stop training when an alert of this severity fires
    save_on: Severity | None = None  # save a checkpoint when one fires
    strict: bool = False
    dtype: str = "float16"  # wire precision; the service scores in float32
    capture_batch_size: int = 8
    spool_dir: Path = DEFAULT_SPOOL_DIR
    spool_max_checks: int = 1000
    flush_timeout: float = 60.0
    retry_interval: float = 2.0
    # Also keep every check's canary activations and write them here when training ends, for
    # `emwatch probes calibrate` (healthy runs) or a later look; about n_checks x n_prompts x
    # d_model floats per hook point.
    record_to: Path | None = None

    def __post_init__(self) -> None:
        check_run_name(self.run)
        if self.check_every < 1:
            raise ValueError("check_every must be >= 1")


@dataclass(frozen=True)
class AlertNotice:
    """The alert that triggered a stop or save request."""

    step: int
    severity: Severity
    hook_point: str
    feature: str
    rule: str
    value: float


def _severity_at_least(severity: str, floor: Severity | None) -> bool:
    return floor is not None and Severity(severity).rank >= floor.rank


class TrainingMonitor:
    def __init__(self, config: MonitorConfig, tokenizer: ChatTokenizer) -> None:
        self.config = config
        self.tokenizer = tokenizer
        self.client = EmwatchClient(config.url, config.token)
        self.capture: ActivationCapture | None = None
        self.sender: CheckSender | None = None
        self.checks_sent: list[int] = []
        self.latest: dict[str, Any] | None = None  # the service's latest answer
        self.stop_notice: AlertNotice | None = None
        self.save_notice: AlertNotice | None = None
        self._save_taken = False
        self._pack_dir: Path | None = None
        self.recording: CheckRecording | None = None

    # -- set-up ------------------------------------------------------------------------------

    def _hook_points(self) -> tuple[str, list[str]]:
        """(pack name, hook points) from a local pack, the config or the service."""
        candidate = Path(self.config.probe_pack)
        if candidate.is_dir():
            manifest = read_manifest(candidate)
            self._pack_dir = candidate
            return manifest.name, list(manifest.hook_points)
        name = str(self.config.probe_pack)
        if self.config.hook_points:
            return name, list(self.config.hook_points)
        pack = self.client.get_pack(name)
        if pack is None:
            raise MonitorError(
                f"probe pack {name!r} is not registered with {self.config.url} "
                "and is not a local directory"
            )
        return name, list(pack["hook_points"])

    def _register(
        self, client: EmwatchClient, pack_name: str, hook_points: list[str], prompt_set_hash: str
    ) -> None:
        if self._pack_dir is not None:
            client.register_pack(self._pack_dir)
        spec: dict[str, Any] = {
            "name": self.config.run,
            "probe_pack": pack_name,
            "model_id": self.config.model_id,
            "hook_points": hook_points,
            "prompt_set_hash": prompt_set_hash,
            "labels": self.config.labels,
        }
        if self.config.detector is not None:
            spec["detector"] = self.config.detector.model_dump(mode="json")
        client.create_run(spec)

    def start(self, model: nn.Module, step: int = 0) -> None:
        """Register the run and send the baseline check (before any weight update)."""
        try:
            pack_name, hook_points = self._hook_points()
            canaries = (
                self.config.canaries
                if isinstance(self.config.canaries, CanarySet)
                else load_canaries(self.config.canaries)
            )
            self.capture = ActivationCapture(
                self.tokenizer, canaries, hook_points, batch_size=self.config.capture_batch_size
            )
        except (MonitorError, ServiceError, ValueError, RuntimeError) as exc:
            self._fail(f"emwatch monitoring is off for run {self.config.run!r}: {exc}")
            return
        prompt_set_hash = self.capture.prompt_set_hash
        if self.config.record_to is not None:
            self.recording = CheckRecording(self.config.run, prompt_set_hash)
        spool = Spool(
            self.config.spool_dir, self.config.run, max_checks=self.config.spool_max_checks
        )
        self.sender = CheckSender(
            self.client,
            self.config.run,
            spool,
            setup=lambda c: self._register(c, pack_name, hook_points, prompt_set_hash),
            on_result=self._on_result,
            retry_interval=self.config.retry_interval,
        )
        self.sender.start()
        self.check(model, step)

    # -- per step ----------------------------------------------------------------------------

    def check(self, model: nn.Module, step: int) -> None:
        """Capture and enqueue one check now."""
        if self.capture is None or self.sender is None:
            return
        self._raise_if_strict()
        try:
            activations = self.capture.capture(model)
        except Exception as exc:
            self._fail(f"emwatch capture failed at step {step}: {exc!r}")
            return
        if self.recording is not None:
            self.recording.append(step, activations)
        check = Check(self.config.run, step, self.capture.prompt_set_hash, activations)
        self.sender.submit(step, encode_check(check, dtype=self.config.dtype))
        self.checks_sent.append(step)

    def after_step(self, model: nn.Module, step: int) -> bool:
        """Check if due; return True if training should stop because of an alert."""
        if step % self.config.check_every == 0:
            self.check(model, step)
        return self.stop_requested

    @property
    def stop_requested(self) -> bool:
        return self.stop_notice is not None

    def take_save_request(self) -> bool:
        """True once, the first time an alert at ``save_on`` severity fires."""
        if self.save_notice is not None and not self._save_taken:
            self._save_taken = True
            return True
        return False

    def _on_result(self, step: int, answer: dict[str, Any]) -> None:
        """Runs in the sender thread: remember the answer, turn firing alerts into requests."""
        self.latest = answer
        for alert in answer.get("alerts", []):
            if alert["state"] != "firing":
                continue
            notice = AlertNotice(
                step,
                Severity(alert["severity"]),
                alert["hook_point"],
                alert["feature"],
                alert["rule"],
                alert["value"],
            )
            if self.stop_notice is None and _severity_at_least(
                alert["severity"], self.config.stop_on
            ):
                self.stop_notice = notice
                log.warning(
                    "emwatch: %s alert on %s %s (%s = %.2f) at step %d: stopping",
                    notice.severity,
                    notice.hook_point,
                    notice.feature,
                    notice.rule,
                    notice.value,
                    step,
                )
            if self.save_notice is None and _severity_at_least(
                alert["severity"], self.config.save_on
            ):
                self.save_notice = notice

    # -- shutdown ----------------------------------------------------------------------------

    def close(self, status: str = "finished") -> bool:
        """Flush (bounded by ``flush_timeout``) and mark the run finished.

        Returns True if every check reached the service. If some are still spooled the run is
        left running, so a later replay can still add them.
        """
        if self.sender is None:
            self.client.close()
            return False
        self._save_recording()
        flushed = self.sender.close(self.config.flush_timeout)
        if flushed:
            try:
                self.client.set_run_status(self.config.run, status)
            except ServiceError as exc:
                log.warning("emwatch: could not mark run %s %s: %s", self.config.run, status, exc)
        else:
            log.warning(
                "emwatch: %d checks of run %s are still in %s; they are sent when a "
                "monitor for this run starts again, or by `emwatch spool replay`",
                len(self.sender.spool),
                self.config.run,
                self.sender.spool.directory,
            )
        self.client.close()
        self._raise_if_strict()
        return flushed

    def _save_recording(self) -> None:
        if self.recording is None or self.config.record_to is None:
            return
        try:
            self.recording.save(self.config.record_to)
        except OSError as exc:
            self._fail(f"emwatch could not write the recording {self.config.record_to}: {exc}")
            return
        log.info(
            "emwatch: %d checks of run %s recorded to %s",
            len(self.recording.steps),
            self.config.run,
            self.config.record_to,
        )

    def _raise_if_strict(self) -> None:
        if self.config.strict and self.sender is not None and self.sender.errors:
            raise MonitorError("; ".join(self.sender.errors))

    def _fail(self, message: str) -> None:
        if self.config.strict:
            raise MonitorError(message)
        log.warning(message)
