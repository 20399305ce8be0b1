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

``start(model, step=N)`` with N > 0 resumes the run from a checkpoint at step N (``resume``).

Answers arrive asynchronously. With ``stop_on`` or ``save_on`` set, each ``after_step`` first
waits for the answers to the checks taken before it (they have had a whole training step to
come back, so this rarely waits): an alert stops training at the end of the step after the
alerting check at the latest, as long as the service answers within ``answer_wait`` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from monitor.core.attribution import MAX_TOP
from monitor.core.canaries import CanarySet, load_canaries
from monitor.core.detect import DetectorConfig, Severity
from monitor.core.naming import check_run_name
from monitor.core.pack import load_pack
from monitor.core.pack.pack import read_manifest
from monitor.core.wire import ACCEPTED_DTYPES, Check, encode_check
from monitor.trainer.attribution import SampleAttribution
from monitor.trainer.capture import ActivationCapture, ChatTokenizer, model_device
from monitor.trainer.client import EmwatchClient, ServiceError
from monitor.trainer.recording import CheckRecording
from monitor.trainer.resume import Resume, continue_run, drop_dead_branch, refuse_finished_run
from monitor.trainer.sender import CheckSender
from monitor.trainer.spool import DEFAULT_SPOOL_DIR, Spool
from monitor.trainer.trainer_logs import answer_log_values, metric_name

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
    # Capture under torch.autocast in this dtype ("bfloat16", "float16"), as the training
    # forward runs; EmwatchCallback sets it from TrainingArguments.bf16/fp16 when None.
    autocast: str | None = None
    # Canaries per forward (sorted by length, so padding stays low). On a CPU two batches of 8
    # cost less than one padded batch of all 16 (bench/overhead.py measures both).
    capture_batch_size: int = 8
    spool_dir: Path = DEFAULT_SPOOL_DIR
    spool_max_checks: int = 1000
    flush_timeout: float = 60.0
    retry_interval: float = 2.0
    # With stop_on/save_on: how long a step end waits for an earlier check's answer.
    answer_wait: float = 10.0
    # Resuming (start at step > 0) a run that is finished: reopen it (a trainer that resumes is
    # training again) or, if False, leave it finished and send nothing.
    reopen_finished: bool = True
    log_max_features: int = 32  # per-feature z-scores added to the Trainer's logs
    # Also keep every check's canary activations and write them here when training ends, for
    # `emwatch probes calibrate` (healthy runs) or a later look; about n_checks x n_prompts x
    # d_model floats per hook point.
    record_to: Path | None = None
    # Score every training sample from the training forward and send the top ones with each
    # check (``monitor.trainer.attribution``); needs the pack as a local directory.
    attribution: bool = False
    attribution_top: int = 20  # samples per check, highest score first
    attribution_text: bool = False  # also send their answer text (training data may be private)

    def __post_init__(self) -> None:
        check_run_name(self.run)
        if self.check_every < 1:
            raise ValueError("check_every must be >= 1")
        if not 1 <= self.attribution_top <= MAX_TOP:
            raise ValueError(f"attribution_top must be from 1 to {MAX_TOP}")
        if self.autocast is not None and self.autocast not in ("bfloat16", "float16"):
            raise ValueError(
                f"autocast must be 'bfloat16', 'float16' or None, not {self.autocast!r}"
            )


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
        self.check_seconds: float | None = None  # the latest check, in the training thread
        self._answered: tuple[int, dict[str, Any]] | None = None  # (step, answer), latest
        self._logged_step: int | None = None
        self._answers_late = False
        self.stop_notice: AlertNotice | None = None
        self.save_notice: AlertNotice | None = None
        self._save_taken = False
        self._pack_dir: Path | None = None
        self.recording: CheckRecording | None = None
        self.attribution: SampleAttribution | None = None

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

    def _set_up(
        self,
        client: EmwatchClient,
        register: Callable[[], None],
        resume: Resume | None,
        spool: Spool,
    ) -> None:
        """The sender's set-up, before anything is sent: register, and resume if resuming."""
        if resume is not None:
            refuse_finished_run(client, resume)  # registering reopens a finished run
        register()
        if resume is not None:
            continue_run(client, resume, spool)

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
        """Register the run and send the baseline check (before any weight update).

        At ``step`` > 0 the run resumes from a checkpoint taken at that step instead: the
        service sets aside the checks after it, the spool drops them, and the step's own check
        is sent only if the run lacks it (``monitor.trainer.resume`` says why).
        """
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
        resume = None
        if step > 0:
            drop_dead_branch(spool, step)
            resume = Resume(
                self.config.run,
                step,
                self.config.check_every,
                self.config.reopen_finished,
                self._take_check(model, step),
            )
        self.sender = CheckSender(
            self.client,
            self.config.run,
            spool,
            setup=lambda c: self._set_up(
                c, lambda: self._register(c, pack_name, hook_points, prompt_set_hash), resume, spool
            ),
            on_result=self._on_result,
            retry_interval=self.config.retry_interval,
        )
        self.sender.start()
        if resume is None:
            self.check(model, step)
        if self.config.attribution:
            self._attach_attribution(model)

    def _attach_attribution(self, model: nn.Module) -> None:
        if self._pack_dir is None:
            log.warning(
                "emwatch: attribution needs the probe pack as a local directory, not the "
                "registered name %r; training samples are not scored",
                self.config.probe_pack,
            )
            return
        self.attribution = SampleAttribution(
            load_pack(self._pack_dir),
            top=self.config.attribution_top,
            tokenizer=self.tokenizer if self.config.attribution_text else None,
        )
        self.attribution.attach(model)

    def index_dataset(self, samples: Iterable[Sequence[int]]) -> None:
        """Name attributed samples by their index in ``samples`` (each sample's token ids, as
        the training batches hold them unpadded); ``EmwatchCallback`` does this itself."""
        if self.attribution is not None:
            indexed = self.attribution.index_dataset(samples)
            log.info("emwatch: attribution knows %d distinct training samples", indexed)

    # -- per step ----------------------------------------------------------------------------

    def check(self, model: nn.Module, step: int) -> None:
        """Capture and enqueue one check now."""
        if self.capture is None or self.sender is None:
            return
        self._raise_if_strict()
        body = self._take_check(model, step)
        if body is not None:
            self.sender.submit(step, body)
            self.checks_sent.append(step)

    def _take_check(self, model: nn.Module, step: int) -> bytes | None:
        """Capture and encode the check of ``step``; None (after a warning) if capture fails."""
        assert self.capture is not None
        started = time.perf_counter()
        try:
            with self._autocast(model):
                activations = self.capture.capture(model)
        except Exception as exc:
            self._fail(f"emwatch capture failed at step {step}: {exc!r}")
            return None
        if self.recording is not None:
            self.recording.append(step, activations)
        attribution = self.attribution.summary(step) if self.attribution is not None else None
        check = Check(self.config.run, step, self.capture.prompt_set_hash, activations, attribution)
        body = encode_check(check, dtype=self.config.dtype)
        self.check_seconds = time.perf_counter() - started
        return body

    def _autocast(self, model: nn.Module) -> AbstractContextManager[Any]:
        if self.config.autocast is None:
            return nullcontext()
        dtype = ACCEPTED_DTYPES[self.config.autocast]
        return torch.autocast(model_device(model).type, dtype=dtype)

    def after_step(self, model: nn.Module, step: int) -> bool:
        """Check if due; return True if training should stop because of an alert."""
        if self.config.stop_on is not None or self.config.save_on is not None:
            self.wait_for_answers(self.config.answer_wait)
        if self.attribution is not None:
            self.attribution.end_step(step)
        if step % self.config.check_every == 0:
            self.check(model, step)
        return self.stop_requested

    def wait_for_answers(self, timeout: float) -> bool:
        """Block until every check handed over so far is answered (or spooled: the service is
        down); False after ``timeout``. After one timeout it does not wait again until the
        service has caught up, so a slow service costs one wait, not one per step."""
        if self.sender is None:
            return True
        if self.sender.wait_idle(0 if self._answers_late else timeout):
            self._answers_late = False
            return True
        if not self._answers_late:
            log.warning(
                "emwatch: no answer from %s within %.1f s; until it catches up, an alert may "
                "stop training more than one step after its check",
                self.config.url,
                timeout,
            )
        self._answers_late = True
        return False

    def take_log_values(self) -> dict[str, float]:
        """The latest answer's numbers for the Trainer's logs (``trainer_logs``), once per
        answer; empty when nothing new arrived."""
        answered = self._answered
        if answered is None or answered[0] == self._logged_step:
            return {}
        step, answer = answered
        self._logged_step = step
        values = answer_log_values(step, answer, max_features=self.config.log_max_features)
        if self.check_seconds is not None:
            values[metric_name("check_seconds")] = self.check_seconds
        return values

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
        self._answered = (step, answer)
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
        if self.attribution is not None:
            self.attribution.detach()
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
