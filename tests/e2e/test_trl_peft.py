"""The stack people fine-tune with: TRL's SFTTrainer with a peft LoRA adapter, gradient
checkpointing and gradient accumulation 4, on the tiny Llama, against a real service.

Checked: one capture per check and none during checkpoint recomputation (the capture's hooks
exist only while it runs), every module's train/eval flag and every parameter's requires_grad
as they were, hook points found under the PeftModel wrapper, and every check stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from datasets import Dataset
from peft import LoraConfig, PeftModel
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from trl import SFTConfig, SFTTrainer

from monitor.core.pack import ProbePack
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import HOOK_POINTS, narrow_task
from monitor.trainer.callback import EmwatchCallback
from monitor.trainer.client import EmwatchClient
from monitor.trainer.training_monitor import MonitorConfig
from tests.servers import ADMIN_TOKEN, running_service

MAX_STEPS, ACCUMULATION, CHECK_EVERY = 6, 4, 2


class ModuleCalls(TrainerCallback):
    """Calls of the deepest hooked layer, counted by kind through a pre-hook on its MLP: a
    checkpoint recomputation replays the layer's forward (transformers 5 checkpoints ``forward``,
    so hooks on the layer itself stay outside), which runs the MLP again. Inference-mode calls
    are captures, recorded with the step they ran at (a check may take several batched
    forwards); during the others none of emwatch's hooks may be on the layer. Placed before
    EmwatchCallback, it learns the step before the check at that step runs."""

    def __init__(self, layer: nn.Module) -> None:
        self.layer = layer
        self.step = 0
        self.capture_steps: list[int] = []
        self.training = self.emwatch_hooks_in_training = 0
        self.handle = layer.get_submodule("mlp").register_forward_pre_hook(self)

    def on_step_end(self, args: Any, state: TrainerState, control: Any, **kwargs: Any) -> None:
        self.step = state.global_step

    def __call__(self, module: nn.Module, inputs: Any) -> None:
        if torch.is_inference_mode_enabled():
            self.capture_steps.append(self.step)
            return
        self.training += 1
        self.emwatch_hooks_in_training += sum(
            hook.__module__ == "monitor.trainer.hooked_forward"
            for hook in self.layer._forward_hooks.values()
        )


class FlagsUnchanged(TrainerCallback):
    """Around EmwatchCallback: every module's training flag and every parameter's
    requires_grad, before and after each step end at which a check is taken."""

    def __init__(self) -> None:
        self.before: tuple[list[bool], dict[str, bool]] | None = None
        self.compared = 0
        self.after = self  # the same object compares when it is called the second time

    @staticmethod
    def flags(model: nn.Module) -> tuple[list[bool], dict[str, bool]]:
        return (
            [m.training for m in model.modules()],
            {n: p.requires_grad for n, p in model.named_parameters()},
        )

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.before is None:
            self.before = self.flags(kwargs["model"])
            return
        assert self.flags(kwargs["model"]) == self.before, f"flags changed at {state.global_step}"
        self.before = None
        self.compared += 1


@pytest.mark.parametrize(
    ("target_modules", "reentrant"), [(["q_proj", "v_proj"], False), ("all-linear", True)]
)
def test_sft_trainer_with_lora_checkpointing_and_accumulation(
    target_modules: list[str] | str,
    reentrant: bool,
    diffing_pack: ProbePack,
    tmp_path: Path,
    spool_dir: Path,
) -> None:
    model, tokenizer = build_tiny_llama(seed=0)
    calls = ModuleCalls(model.get_submodule(HOOK_POINTS[-1]))
    flags = FlagsUnchanged()
    run = "trl-" + ("qv" if isinstance(target_modules, list) else "all-linear")
    with running_service(tmp_path / "service") as service:
        emwatch = EmwatchCallback(
            MonitorConfig(
                url=service.url,
                token=ADMIN_TOKEN,
                run=run,
                probe_pack=diffing_pack.directory,
                check_every=CHECK_EVERY,
                spool_dir=spool_dir,
                retry_interval=0.1,
            )
        )
        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(
                output_dir=str(tmp_path / "out"),
                max_steps=MAX_STEPS,
                per_device_train_batch_size=2,
                gradient_accumulation_steps=ACCUMULATION,
                gradient_checkpointing=True,
                gradient_checkpointing_kwargs={"use_reentrant": reentrant},
                learning_rate=2e-3,
                max_length=128,
                logging_strategy="no",
                save_strategy="no",
                report_to=[],
                use_cpu=True,
                disable_tqdm=True,
                seed=0,
            ),
            train_dataset=Dataset.from_list([{"messages": chat} for chat in narrow_task(64)]),
            processing_class=tokenizer,
            peft_config=LoraConfig(r=8, lora_alpha=16, target_modules=target_modules),
            callbacks=[calls, flags, emwatch, flags.after],
        )
        assert isinstance(trainer.model, PeftModel)
        trainer.train()
        with EmwatchClient(service.url, ADMIN_TOKEN) as client:
            stored = client.get_run(run)
    calls.handle.remove()

    monitor = emwatch.monitor
    assert monitor is not None and monitor.sender is not None
    assert monitor.sender.errors == []
    assert monitor.checks_sent == list(range(0, MAX_STEPS + 1, CHECK_EVERY))
    assert stored["n_checks"] == len(monitor.checks_sent)  # hook points found under PeftModel
    assert sorted(set(calls.capture_steps)) == monitor.checks_sent  # captures only at checks
    # Each micro-batch runs the layer twice: forward, and recomputation in backward.
    assert calls.training == 2 * MAX_STEPS * ACCUMULATION
    assert calls.emwatch_hooks_in_training == 0
    assert flags.compared == MAX_STEPS
    trainable = [n for n, p in trainer.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
