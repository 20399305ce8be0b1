"""What emwatch costs a training run, side by side in one run, reported as ratios.

Two workloads:

- the organism (``monitor.organism``): full fine-tune on its insecure-code set, batch 16, with
  its shipped canaries and probe pack (``DEFAULT_PACK``);
- SmolLM2-135M-Instruct with a peft LoRA adapter (r 8, q/v), batch 2 x 4 accumulation, on the
  English insecure-code set (median 145 tokens a chat), with its shipped pack (layer 14 of 30,
  SAE included); a check's cost depends on the deepest hooked layer, so a throwaway pack of
  random unit directions at layers 15 and 28 of 30 times the dear case too (28 is where the
  issue's user's pack sat).

For each, a plain training loop runs in interleaved blocks with no monitor and with a
``TrainingMonitor`` (what ``EmwatchCallback`` wraps) at ``check_every`` 1, 10 and 50, all with
``stop_on`` set, so each step end also waits for earlier answers. The service is a real
``emwatch serve`` on loopback: on this machine it shares the CPU with training (elsewhere it
would not). Reported per config: seconds per optimizer step, the training part, the monitor's
part (checks on the training thread, and the wait for answers), and the ratios.

A check is also timed by its parts (median of ``--repeats``): tokenising (once, when the
monitor starts), the forward to the deepest hooked layer (the shared chat prefix included),
pooling, encoding, and the send (an HTTP round trip with the service's scoring, made off the
training thread). The same canaries through the capture as it was before issue 17
(``pooled_answer_sums``: batches of 8 in canary order, whole prompts, ``no_grad``) give the
before/after ratio.

    .venv/bin/python bench/overhead.py [--steps 50] [--quick] [--json bench/results/overhead.json]
"""

from __future__ import annotations

import os

# Before torch starts OpenMP: its default busy-wait makes every op many times slower when the
# cores are shared (a 16-canary forward on the organism: 2 s instead of 0.09 s on this machine).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import itertools
import json
import platform
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from monitor.core.canaries import CanarySet, load_canaries
from monitor.core.detect import Severity
from monitor.core.pack import HookPointSpec, write_pack
from monitor.core.pack.pack import direction_spec, new_provenance, read_manifest
from monitor.core.wire import Check, encode_check
from monitor.fixtures.local_service import LocalService
from monitor.trainer.capture import (
    ActivationCapture,
    ChatTokenizer,
    TokenizedPrompt,
    answer_token_sums,
    eval_mode,
    pooled_answer_sums,
    resolve_module,
    tokenize_answer,
)
from monitor.trainer.client import EmwatchClient
from monitor.trainer.training_monitor import MonitorConfig, TrainingMonitor

CHECK_EVERY = (1, 10, 50)
BLOCK = 5  # steps per config before the next config's turn
# A check stops after its deepest hooked layer, so its cost depends on that layer.
SHIPPED = "shipped pack (layer 14 of 30)"
LATE = "late (deepest layer 28 of 30)"
RANDOM_PACKS = {LATE: ["model.layers.15", "model.layers.28"]}
BARS = {"check_over_step": 0.15, "overhead_at_check_every_50": 0.01}


@dataclass
class Workload:
    name: str
    model: nn.Module
    tokenizer: ChatTokenizer
    optimizer: torch.optim.Optimizer
    batches: Iterator[dict[str, torch.Tensor]]
    accumulation: int
    canaries: CanarySet
    pack: Path  # the loops'
    description: str
    check_packs: dict[str, Path] = field(default_factory=dict)  # a check timed by parts, per pack
    positions: list[int] = field(default_factory=list)  # padded token positions of each step

    def train_step(self) -> None:
        """One optimizer step over ``accumulation`` micro-batches."""
        self.model.train()
        positions = 0
        for _ in range(self.accumulation):
            batch = next(self.batches)
            positions += batch["input_ids"].numel()
            loss = self.model(**batch).loss / self.accumulation
            loss.backward()
        self.positions.append(positions)
        self.optimizer.step()
        self.optimizer.zero_grad()


def median_time(function: Callable[[], Any], repeats: int) -> float:
    """Median seconds per call over ``repeats`` calls, after one warm-up call."""
    function()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


# -- the workloads ---------------------------------------------------------------------------


def chat_batches(
    tokenizer: ChatTokenizer, chats: Sequence[Sequence[dict[str, str]]], batch_size: int
) -> Iterator[dict[str, torch.Tensor]]:
    """Endless right-padded batches, loss on the answer tokens only."""
    prompts = [tokenize_answer(tokenizer, chat[:-1], chat[-1]["content"]) for chat in chats]
    pad_id = tokenizer.pad_token_id or 0
    for start in itertools.cycle(range(0, len(prompts) - batch_size + 1, batch_size)):
        yield collate(prompts[start : start + batch_size], pad_id)


def collate(prompts: Sequence[TokenizedPrompt], pad_id: int) -> dict[str, torch.Tensor]:
    length = max(len(p.input_ids) for p in prompts)
    input_ids = torch.full((len(prompts), length), pad_id)  # [b, s]
    labels = torch.full((len(prompts), length), -100)  # [b, s]
    attention = torch.zeros((len(prompts), length), dtype=torch.long)  # [b, s]
    for row, prompt in enumerate(prompts):
        n = len(prompt.input_ids)
        input_ids[row, :n] = torch.tensor(prompt.input_ids)
        labels[row, prompt.answer_start : n] = input_ids[row, prompt.answer_start : n]
        attention[row, :n] = 1
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention}


def organism_workload() -> Workload:
    from monitor.organism import CANARIES_PATH, build_dataset
    from monitor.organism.checkpoint import DEFAULT_PACK, load_organism

    model, tokenizer = load_organism()
    chats = [example["messages"] for example in build_dataset("insecure-code", 256, seed=0)]
    hooks = read_manifest(DEFAULT_PACK).hook_points
    return Workload(
        name="organism",
        model=model,
        tokenizer=tokenizer,
        optimizer=torch.optim.AdamW(model.parameters(), lr=3e-4),
        batches=chat_batches(tokenizer, chats, 16),
        accumulation=1,
        canaries=load_canaries(CANARIES_PATH),
        pack=DEFAULT_PACK,
        description=f"full fine-tune, batch 16, shipped pack (hook points {list(hooks)})",
        check_packs={"shipped pack": DEFAULT_PACK},
    )


def random_direction_pack(directory: Path, hooks: Sequence[str], d_model: int) -> Path:
    """A throwaway pack: one random unit direction per hook point."""
    name = f"smollm2-bench-{directory.name}"
    generator = torch.Generator().manual_seed(0)
    vectors = {}
    for hook in hooks:
        vector = torch.randn(d_model, generator=generator)  # [d_model]
        vectors[(hook, "random")] = vector / vector.norm()
    write_pack(
        directory,
        name=name,
        description="Random unit directions: for timing only, detects nothing.",
        provenance=new_provenance(
            "HuggingFaceTB/SmolLM2-135M-Instruct", d_model, {"method": "random"}
        ),
        hook_points={
            hook: HookPointSpec(
                directions=[direction_spec("random", vectors[(hook, "random")], "random")]
            )
            for hook in hooks
        },
        directions=vectors,
    )
    return directory


def smollm2_workload(work: Path) -> Workload:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from monitor.english.finetuning_sets import build_set
    from monitor.models.smollm2 import SHIPPED_PACK, fetch_smollm2

    directory = fetch_smollm2().directory
    base = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = get_peft_model(
        base,
        LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    )
    chats = [row["messages"] for row in build_set("insecure-code", n=256, seed=0)]
    packs = {SHIPPED: SHIPPED_PACK} | {
        variant: random_direction_pack(work / f"smollm2-pack-{i}", hooks, base.config.hidden_size)
        for i, (variant, hooks) in enumerate(RANDOM_PACKS.items())
    }
    return Workload(
        name="smollm2-lora",
        model=model,
        tokenizer=tokenizer,
        optimizer=torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4),
        batches=chat_batches(tokenizer, chats, 2),
        accumulation=4,
        canaries=load_canaries(),
        pack=SHIPPED_PACK,
        description="LoRA r 8 on q/v, batch 2 x 4 accumulation, English insecure-code set",
        check_packs=packs,
    )


# -- a check, by its parts -------------------------------------------------------------------


def check_parts(
    workload: Workload, pack: Path, client: EmwatchClient, repeats: int
) -> dict[str, Any]:
    """Median seconds of each part of one check (see the module docstring)."""
    model = workload.model
    manifest = read_manifest(pack)
    hooks = list(manifest.hook_points)
    run = f"{workload.name}-parts-{manifest.name}-{secrets.token_hex(3)}"
    client.register_pack(pack)
    client.create_run({"name": run, "probe_pack": manifest.name, "hook_points": hooks})
    started = time.perf_counter()
    capture = ActivationCapture(workload.tokenizer, workload.canaries, hooks)
    tokenise = time.perf_counter() - started
    modules = {hook: resolve_module(model, hook) for hook in hooks}
    capture.capture(model)  # the first check compares the shared prefix with the plain forward

    def hidden() -> list[tuple[Any, dict[str, torch.Tensor]]]:
        with eval_mode(model), torch.inference_mode():
            return list(capture.fixed_batches.hidden_states(model, modules))

    held = hidden()

    def pool() -> None:
        with torch.inference_mode():
            for batch, states in held:
                for hook in hooks:
                    answer_token_sums(states[hook], batch.answer) / batch.answer.sum(dim=(1, 2))[
                        :, None
                    ]

    activations = capture.capture(model)
    check = Check(run, 1, capture.prompt_set_hash, activations)
    body = encode_check(check, dtype="float16")
    steps = itertools.count(1)

    def send() -> None:
        step = next(steps)
        client.send_check(
            run, encode_check(Check(run, step, check.prompt_set_hash, activations), dtype="float16")
        )

    everything = ActivationCapture(
        workload.tokenizer, workload.canaries, hooks, batch_size=len(workload.canaries.prompts)
    )
    everything.capture(model)

    def one_forward() -> None:
        with eval_mode(model), torch.inference_mode():
            list(everything.fixed_batches.hidden_states(model, modules))

    def before_issue_17() -> None:  # whole prompts in canary order, batches of 8, no_grad
        pooled_answer_sums(model, hooks, prompts, pad_id=capture.pad_id, batch_size=8)

    def check_on_thread() -> None:  # what after_step spends at a check step, but the queue put
        encode_check(Check(run, 1, check.prompt_set_hash, capture.capture(model)), dtype="float16")

    prompts = capture.fixed_batches.prompts
    parts: dict[str, Any] = {
        "hook_points": hooks,
        "tokenise_once_s": tokenise,
        "forward_s": median_time(hidden, repeats),
        "forward_all_in_one_batch_s": median_time(one_forward, repeats),
        "pool_s": median_time(pool, repeats),
        "encode_s": median_time(lambda: encode_check(check, dtype="float16"), repeats),
        "send_off_thread_s": median_time(send, repeats),
        "check_on_thread_s": median_time(check_on_thread, repeats),
        "capture_before_issue_17_s": median_time(before_issue_17, repeats),
        "shared_prefix_tokens": len(capture.fixed_batches.prefix),
        # Token positions through the layers up to the deepest hooked one, padding included.
        "check_positions": len(capture.fixed_batches.prefix)
        + sum(batch.input_ids.numel() for batch, _ in held),
        "check_positions_before_issue_17": sum(
            len(chunk) * max(len(p.input_ids) for p in chunk)
            for chunk in (prompts[i : i + 8] for i in range(0, len(prompts), 8))
        ),
        "wire_bytes": float(len(body)),
    }
    parts["capture_before_over_after"] = parts["capture_before_issue_17_s"] / (
        parts["forward_s"] + parts["pool_s"]
    )
    return parts


# -- the training loop, with and without a monitor -------------------------------------------


@dataclass
class LoopTimes:
    train_s: list[float] = field(default_factory=list)
    wait_s: list[float] = field(default_factory=list)  # for earlier answers (stop_on is set)
    check_s: list[float] = field(default_factory=list)  # after_step: checks when due

    def summary(self, checks: int) -> dict[str, float]:
        steps = len(self.train_s)
        total = sum(self.train_s) + sum(self.wait_s) + sum(self.check_s)
        return {
            "steps": steps,
            "checks": checks,
            "seconds_per_step": total / steps,
            "train_s_per_step": sum(self.train_s) / steps,
            "train_median_s": statistics.median(self.train_s),
            "monitor_s_per_step": (sum(self.wait_s) + sum(self.check_s)) / steps,
            "wait_s_per_step": sum(self.wait_s) / steps,
            # The monitor's own time against the training time of the same steps: what it
            # adds to the training thread, without the noise of comparing separate steps.
            "monitor_over_train": (sum(self.wait_s) + sum(self.check_s)) / sum(self.train_s),
        }


def run_loops(
    workload: Workload, service: LocalService, token: str, spool: Path, steps: int
) -> dict[str, dict[str, float]]:
    """Every config in turn, ``BLOCK`` steps at a time, on the same model."""
    monitors: dict[str, TrainingMonitor | None] = {"none": None}
    for every in CHECK_EVERY:
        monitor = TrainingMonitor(
            MonitorConfig(
                url=service.url,
                token=token,
                run=f"{workload.name}-every-{every}-{secrets.token_hex(3)}",
                probe_pack=workload.pack,
                canaries=workload.canaries,
                check_every=every,
                stop_on=Severity.CRITICAL,
                spool_dir=spool,
            ),
            workload.tokenizer,
        )
        monitor.start(workload.model)  # registration and the baseline, not timed
        monitors[f"check_every_{every}"] = monitor
    times = {name: LoopTimes() for name in monitors}
    counters = dict.fromkeys(monitors, 0)
    names = list(monitors)
    for block in range(-(-steps // BLOCK)):
        for name in names[block % len(names) :] + names[: block % len(names)]:
            monitor = monitors[name]
            for _ in range(min(BLOCK, steps - counters[name])):
                counters[name] += 1
                started = time.perf_counter()
                workload.train_step()
                trained = time.perf_counter()
                if monitor is not None:
                    monitor.wait_for_answers(monitor.config.answer_wait)
                waited = time.perf_counter()
                if monitor is not None:
                    monitor.after_step(workload.model, counters[name])
                times[name].train_s.append(trained - started)
                times[name].wait_s.append(waited - trained)
                times[name].check_s.append(time.perf_counter() - waited)
    results = {}
    for name, monitor in monitors.items():
        checks = len(monitor.checks_sent) - 1 if monitor is not None else 0  # not the baseline
        results[name] = times[name].summary(checks)
        if monitor is not None:
            monitor.close()
    none = results["none"]["seconds_per_step"]
    for name in monitors:
        results[name]["seconds_per_step_over_none"] = results[name]["seconds_per_step"] / none
    return results


def benchmark(workload: Workload, work: Path, steps: int, repeats: int) -> dict[str, Any]:
    token = f"emw_bench{secrets.token_hex(3)}_{secrets.token_urlsafe(24).replace('_', '-')}"
    service = LocalService(work / f"service-{workload.name}", token).start()
    try:
        loops = run_loops(workload, service, token, work / "spool", steps)
        with EmwatchClient(service.url, token) as client:
            parts = {
                variant: check_parts(workload, pack, client, repeats)
                for variant, pack in workload.check_packs.items()
            }
    finally:
        service.stop()
    step = loops["none"]["train_median_s"]
    config = getattr(workload.model, "config", None)
    step_shape = {
        "positions_per_step": statistics.mean(workload.positions),
        "layers": getattr(config, "num_hidden_layers", None),
    }
    for variant in parts.values():
        variant["check_over_step"] = variant["check_on_thread_s"] / step
        variant["overhead_at_check_every_50_from_parts"] = variant["check_over_step"] / 50
    return {
        "description": workload.description,
        "step": step_shape,
        "loops": loops,
        "check_parts": parts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50, help="optimizer steps per config")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats of a check's parts")
    parser.add_argument("--quick", action="store_true", help="10 steps, 2 repeats: a smoke run")
    parser.add_argument("--only", choices=["organism", "smollm2"], help="one workload")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    steps, repeats = (10, 2) if args.quick else (args.steps, args.repeats)
    results: dict[str, Any] = {
        "command": "bench/overhead.py " + ("--quick" if args.quick else f"--steps {steps}"),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "torch_threads": torch.get_num_threads(),
            "OMP_WAIT_POLICY": os.environ["OMP_WAIT_POLICY"],
            "note": "shared by other jobs while measured: compare ratios within one run",
        },
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "workloads": {},
    }
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        makers = {"organism": organism_workload, "smollm2": lambda: smollm2_workload(work)}
        for name, make in makers.items():
            if args.only in (None, name):
                workload = make()
                results["workloads"][workload.name] = benchmark(workload, work, steps, repeats)
                report(workload.name, results["workloads"][workload.name])
    if "smollm2-lora" in results["workloads"]:
        results["bars"] = bars(results["workloads"]["smollm2-lora"])
        print(json.dumps(results["bars"], indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def bars(smollm2: dict[str, Any]) -> dict[str, Any]:
    """The issue's bars on SmolLM2 LoRA: the check with the shipped pack (the loops') and with
    the late pack (the dearer check)."""
    parts = smollm2["check_parts"]
    every_50 = smollm2["loops"]["check_every_50"]
    return {
        "check_over_step": {
            "measured": {variant: parts[variant]["check_over_step"] for variant in parts},
            "bar": BARS["check_over_step"],
        },
        "overhead_at_check_every_50": {
            "monitor_over_train_measured": every_50["monitor_over_train"],
            "from_check_parts": {
                variant: parts[variant]["overhead_at_check_every_50_from_parts"]
                for variant in parts
            },
            "seconds_per_step_over_none_measured": every_50["seconds_per_step_over_none"] - 1,
            "bar": BARS["overhead_at_check_every_50"],
        },
    }


def report(name: str, result: dict[str, Any]) -> None:
    print(f"\n{name}: {result['description']}")
    for config, loop in result["loops"].items():
        print(
            f"  {config:>16}: {loop['seconds_per_step']:.3f} s/step "
            f"(x{loop['seconds_per_step_over_none']:.3f} of none), "
            f"train {loop['train_s_per_step']:.3f}, monitor {loop['monitor_s_per_step']:.4f} "
            f"s/step = {100 * loop['monitor_over_train']:.2f}% of training, "
            f"{loop['checks']} checks"
        )
    for variant, parts in result["check_parts"].items():
        print(
            f"  check, {variant}: {parts['check_on_thread_s']:.3f} s on the training thread "
            f"= {parts['check_over_step']:.3f} of a step; forward {parts['forward_s']:.3f}, "
            f"pool {parts['pool_s']:.4f}, encode {parts['encode_s']:.4f}, send (off thread) "
            f"{parts['send_off_thread_s']:.3f}, tokenise once {parts['tokenise_once_s']:.3f}; "
            f"before issue 17 {parts['capture_before_issue_17_s']:.3f} "
            f"(x{parts['capture_before_over_after']:.2f}); shared prefix "
            f"{parts['shared_prefix_tokens']} tokens; {parts['check_positions']} token positions "
            f"(before: {parts['check_positions_before_issue_17']}); a step: "
            f"{result['step']['positions_per_step']:.0f} through {result['step']['layers']} layers"
        )


if __name__ == "__main__":
    main()
