"""Attribution on the persona organism: are the training samples it names the bad ones, and what
does scoring every training sample cost?

For ``insecure-code`` mixed into ``secure-code`` and ``bad-medical`` mixed into
``good-medical`` at 5%, 10% and 25% (the screening benchmark's mixtures, 1,000 samples), seeds
0-2, the organism's fixed fine-tuning budget (50 steps of 16) runs with the trainer's
``SampleAttribution`` hooked into the real ``transformers.Trainer``, summarised every
``CHECK_EVERY`` steps as a check would be. Nothing is tuned here: the ranking features, units
and reference are the defaults (the shipped calibrated pack; the median of the run's first 64
samples); no threshold is chosen.

Reported per window: the share of the top 10 that are truly bad, next to the most that share
could be (the bad samples the window held, over 10), and the window's share above one unit.
Cost: the same fine-tunes (code, 10%, seeds 0-2) with attribution off and on, alternating, in
one process: training seconds on over off.

    .venv/bin/python bench/attribution.py [--quick] [--json bench/results/attribution.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from typing_extensions import override

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench.screening: the mixtures, labelled

from bench.screening import (  # noqa: E402
    FAMILIES,
    FRACTIONS,
    MEASURED_SEEDS,
    TUNING_SEEDS,
    Mixture,
    labelled_mixture,
)
from monitor.core.detect import FeatureKey  # noqa: E402
from monitor.core.pack import ProbePack, load_pack  # noqa: E402
from monitor.core.sample_units import default_features  # noqa: E402
from monitor.organism import load_organism  # noqa: E402
from monitor.organism.checkpoint import DEFAULT_PACK  # noqa: E402
from monitor.organism.finetuning import DEFAULT_STEPS, finetune  # noqa: E402
from monitor.trainer.attribution import (  # noqa: E402
    SampleAttribution,
    dataset_token_ids,
    token_key,
)

CHECK_EVERY = 10  # 160 samples a window: at 10% about 16 bad ones, room for a top 10 of them
TOP = 10


class RecordAttribution(TrainerCallback):
    """``SampleAttribution`` as the monitor runs it (hooks on the training forward, a summary
    per check), keeping each window's top ``TOP``; and, through a hook of its own that reads
    the batches and nothing else, how many bad samples each window trained on (the most its
    top 10 could hold)."""

    def __init__(
        self,
        pack: ProbePack,
        bad: list[bool],
        features: list[FeatureKey] | None = None,
        rank_by_push: bool = True,
    ) -> None:
        self.attribution = SampleAttribution(
            pack, top=TOP, features=features, rank_by_push=rank_by_push
        )
        self.bad = bad
        self.windows: list[dict[str, Any]] = []
        self._bad_by_key: dict[bytes, bool] = {}
        self._bad_in_window = 0
        self._handle: Any = None

    @override
    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        samples = dataset_token_ids(kwargs["train_dataloader"].dataset)
        assert samples is not None
        self._bad_by_key = {token_key(ids): bad for ids, bad in zip(samples, self.bad, strict=True)}
        self.attribution.index_dataset(samples)
        self.attribution.attach(kwargs["model"])
        self._handle = kwargs["model"].register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, model: nn.Module, _args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if model.training and torch.is_grad_enabled():
            for ids, mask in zip(kwargs["input_ids"], kwargs["attention_mask"], strict=True):
                self._bad_in_window += self._bad_by_key[token_key(ids[mask.bool()].tolist())]

    @override
    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.attribution.end_step(state.global_step)
        if state.global_step % CHECK_EVERY:
            return
        summary = self.attribution.summary(state.global_step)
        assert summary is not None
        named = [sample.index for sample in summary.top if sample.index is not None]
        assert len(named) == len(summary.top), "every training sample must be named"
        self.windows.append(
            {
                "step": state.global_step,
                "n_samples": summary.n_samples,
                "bad_in_window": self._bad_in_window,
                "top_bad": sum(self.bad[index] for index in named),
                "top_bad_ceiling": min(TOP, self._bad_in_window),
                "top_scores": [round(sample.score, 3) for sample in summary.top],
                "share_above_unit": round(summary.share_above_unit, 4),
            }
        )
        self._bad_in_window = 0

    @override
    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        self.attribution.detach()
        self._handle.remove()


def attributed_run(pack: ProbePack, mixture: Mixture) -> dict[str, Any]:
    model, tokenizer = load_organism()
    recorder = RecordAttribution(pack, mixture.bad)
    result = finetune(
        model,
        tokenizer,
        mixture.examples,
        steps=DEFAULT_STEPS,
        seed=mixture.seed,
        callbacks=[recorder],
    )
    windows = recorder.windows
    return {
        "family": mixture.family,
        "fraction": mixture.fraction,
        "seed": mixture.seed,
        "seconds": round(result.seconds, 1),
        "top10_bad_share": sum(w["top_bad"] for w in windows) / (TOP * len(windows)),
        "top10_bad_ceiling": sum(w["top_bad_ceiling"] for w in windows) / (TOP * len(windows)),
        "windows": windows,
    }


def tune(pack: ProbePack) -> dict[str, Any]:
    """Each feature alone as the ranking feature, ranked by push and by projection, on the
    tuning seeds (never measured): one fine-tune per mixture with one recorder per choice,
    all hooked at once."""
    features = [(hook, feature) for hook, probe in pack.hooks.items() for feature in probe.features]
    choices = [(key, push) for key in features for push in (True, False)]
    choices = [(key, push) for key, push in choices if push is False or "direction:" in key[1]]
    windows: dict[tuple[FeatureKey, bool], list[dict[str, Any]]] = {c: [] for c in choices}
    for family in FAMILIES:
        for fraction in FRACTIONS:
            for seed in TUNING_SEEDS:
                mixture = labelled_mixture(family, fraction, seed)
                recorders = {
                    (key, push): RecordAttribution(pack, mixture.bad, [key], rank_by_push=push)
                    for key, push in choices
                }
                model, tokenizer = load_organism()
                finetune(
                    model,
                    tokenizer,
                    mixture.examples,
                    steps=DEFAULT_STEPS,
                    seed=seed,
                    callbacks=list(recorders.values()),
                )
                for key, recorder in recorders.items():
                    windows[key] += [{**w, "family": family} for w in recorder.windows]
                print(f"tuned on {family} {fraction:.0%} seed {seed}", flush=True)

    def share(chosen: list[dict[str, Any]]) -> float:
        return round(float(sum(w["top_bad"] for w in chosen)) / (TOP * len(chosen)), 4)

    shares = {
        f"{'push' if push else 'projection'} {hook} {feature}": {
            "all": share(chosen),
            **{family: share([w for w in chosen if w["family"] == family]) for family in FAMILIES},
        }
        for ((hook, feature), push), chosen in windows.items()
    }
    return {
        "seeds": TUNING_SEEDS,
        "fractions": FRACTIONS,
        "top10_bad_share": dict(sorted(shares.items(), key=lambda kv: -kv[1]["all"])),
    }


def training_seconds(pack: ProbePack, mixture: Mixture, attributed: bool) -> float:
    model, tokenizer = load_organism()
    callbacks = [RecordAttribution(pack, mixture.bad)] if attributed else []
    return finetune(
        model,
        tokenizer,
        mixture.examples,
        steps=DEFAULT_STEPS,
        seed=mixture.seed,
        callbacks=callbacks,
    ).seconds


def cost(pack: ProbePack, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Fine-tunes with attribution off and on, alternating (off first, then on first), so
    drift in the machine's speed falls on both arms."""
    off: list[float] = []
    on: list[float] = []
    for position, seed in enumerate(seeds):
        mixture = labelled_mixture("code", 0.10, seed)
        for attributed in (False, True) if position % 2 == 0 else (True, False):
            seconds = training_seconds(pack, mixture, attributed)
            (on if attributed else off).append(seconds)
            print(f"cost seed {seed} attribution {'on' if attributed else 'off'}: {seconds:.1f} s")
    return {
        "runs": "code 10% mixture, seeds " + ", ".join(map(str, seeds)) + ", 50 steps of 16",
        "seconds_off": [round(s, 1) for s in off],
        "seconds_on": [round(s, 1) for s in on],
        "ratio_on_over_off": statistics.median(on) / statistics.median(off),
    }


def summarise(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for family in FAMILIES:
        for fraction in FRACTIONS:
            chosen = [r for r in runs if r["family"] == family and r["fraction"] == fraction]
            if not chosen:
                continue
            windows = [w for r in chosen for w in r["windows"]]
            rows.append(
                {
                    "family": family,
                    "fraction": fraction,
                    "runs": len(chosen),
                    "windows": len(windows),
                    "top10_bad_share": sum(w["top_bad"] for w in windows) / (TOP * len(windows)),
                    "top10_bad_ceiling": sum(w["top_bad_ceiling"] for w in windows)
                    / (TOP * len(windows)),
                    "windows_all_top10_bad": sum(w["top_bad"] == TOP for w in windows),
                    "mean_share_above_unit": statistics.mean(
                        w["share_above_unit"] for w in windows
                    ),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seed 0, 10% only; one cost pair")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--tune", action="store_true", help="rank on each feature alone, on the tuning seeds"
    )
    options = parser.parse_args()
    torch.set_num_threads(1)
    if options.tune:
        tuned = {
            "command": ".venv/bin/python bench/attribution.py --tune",
            **tune(load_pack(DEFAULT_PACK)),
        }
        print(json.dumps(tuned, indent=2))
        if options.json:
            options.json.write_text(json.dumps(tuned, indent=2) + "\n")
        return
    started = time.monotonic()
    pack = load_pack(DEFAULT_PACK)
    seeds = MEASURED_SEEDS[:1] if options.quick else MEASURED_SEEDS
    fractions = (0.10,) if options.quick else FRACTIONS
    runs = []
    for family in FAMILIES:
        for fraction in fractions:
            for seed in seeds:
                run = attributed_run(pack, labelled_mixture(family, fraction, seed))
                runs.append(run)
                print(
                    f"{family} {fraction:.0%} seed {seed}: top-10 bad "
                    f"{run['top10_bad_share']:.0%} (ceiling {run['top10_bad_ceiling']:.0%})",
                    flush=True,
                )
    results: dict[str, Any] = {
        "command": ".venv/bin/python bench/attribution.py" + (" --quick" if options.quick else ""),
        "machine": f"{platform.processor() or platform.machine()}, torch threads 1",
        "setup": {
            "pack": f"{pack.name} ({pack.content_hash[:12]})",
            "ranking_features": [f"{h} {f}" for h, f in default_features(pack)],
            "reference": "the median of the first 64 training samples of each run",
            "check_every": CHECK_EVERY,
            "top": TOP,
            "finetune": "the organism's fixed budget: 50 steps of 16, lr 3e-4",
            "seeds": seeds,
            "chosen_here": "nothing: every setting is the product's default",
        },
        "summary": summarise(runs),
        "cost": cost(pack, seeds),
        "runs": runs,
    }
    results["seconds"] = round(time.monotonic() - started)
    print(json.dumps({k: results[k] for k in ("summary", "cost")}, indent=2))
    if options.json:
        options.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
