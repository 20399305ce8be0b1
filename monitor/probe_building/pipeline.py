"""From a model and data to a validated probe pack with its validation report.

Steps: fit a direction per hook point for every activation contrast and rank hook points by
held-out separation; train (or take) an SAE at the best hook point; find persona latents by
diffing base and fine-tuned activations on open prompts; read their top corpus contexts;
optionally steer; write the pack. The first contrast is the primary one: it picks the layer.
The pack carries the directions at that layer, or (``watch_every_layer``) at every layer.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from monitor.core.pack import (
    DirectionSpec,
    HookPointSpec,
    ProbePack,
    SaeSpec,
    WatchedLatent,
    write_pack,
)
from monitor.core.pack.pack import direction_spec, new_provenance
from monitor.probe_building.activations import (
    Chat,
    TokenActivations,
    document_prompts,
    token_activations,
)
from monitor.probe_building.data import Corpus
from monitor.probe_building.directions import (
    LayerSeparation,
    choose_hook,
    cosine,
    rank_layers,
    split_indices,
)
from monitor.probe_building.latents import (
    Context,
    LatentRise,
    label_share,
    rank_by_rise,
    top_contexts,
)
from monitor.probe_building.sae_training import (
    SaeQuality,
    SaeTrainingConfig,
    encode_tokens,
    evaluate_sae,
    load_sae,
    train_sae,
)
from monitor.probe_building.sources import (
    ActivationContrast,
    DirectionFit,
    answered_chats,
    fit_directions,
)
from monitor.probe_building.steering import Evaluate, SteeringPoint, steering_curve
from monitor.trainer.capture import tokenize_answer

log = logging.getLogger("emwatch.build")


@dataclass
class BuildInputs:
    model: PreTrainedModel  # the base model the pack is for
    tokenizer: PreTrainedTokenizerBase
    model_id: str
    hook_points: list[str]
    contrasts: list[ActivationContrast]  # the first one picks the layer
    corpus: Corpus | None = None  # SAE training and top-activating contexts
    sae_config: SaeTrainingConfig = field(default_factory=SaeTrainingConfig)
    sae_folder: Path | None = None  # an existing sae-lens SAE instead of training one
    finetuned: PreTrainedModel | None = None  # latent diffing needs a misaligned model
    diff_prompts: Sequence[Chat] = ()
    watch_top_k: int = 4
    # Directions at every hook point, not only the best: a layer that separates a little less
    # well may still move earlier in training. The SAE stays at the best one.
    watch_every_layer: bool = False
    persona_label: str = "villain"  # corpus label whose share among top contexts we report
    evaluate: Evaluate | None = None  # a behavioural eval, for the steering report
    steering_scales: Sequence[float] = (0.0, 0.5, 1.0, 2.0)
    corpus_tokens: int = 200_000
    seed: int = 0


@dataclass(frozen=True)
class WatchedLatentReport:
    rise: LatentRise
    decoder_cosine: float  # with the primary direction at the SAE's hook point
    persona_share: float  # share of top contexts whose document has the persona label
    contexts: list[Context]


@dataclass
class BuildReport:
    name: str
    model_id: str
    fits: list[DirectionFit]
    layer_ranking: list[LayerSeparation]
    best_hook: str
    direction_cosines: dict[str, float]  # method -> cosine with the primary, at best_hook
    sae_quality: SaeQuality | None = None
    latents: list[WatchedLatentReport] = field(default_factory=list)
    steering: dict[str, list[SteeringPoint]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)  # further findings, name -> value
    residual_norm: float | None = None  # mean token norm at best_hook: the steering unit
    decoders: dict[int, torch.Tensor] = field(default_factory=dict)  # watched latent -> [d]


def _corpus_tokens(inputs: BuildInputs, hook: str) -> tuple[TokenActivations, list[Any]]:
    assert inputs.corpus is not None
    prompts = document_prompts(inputs.tokenizer, inputs.corpus.texts, max_tokens=256)
    kept, total = [], 0
    for prompt in prompts:  # stop once enough tokens for training and evaluation
        kept.append(prompt)
        total += len(prompt.input_ids) - 1
        if total >= inputs.corpus_tokens:
            break
    tokens = token_activations(inputs.model, kept, hook, pad_id=inputs.tokenizer.pad_token_id or 0)
    return tokens, kept


def _answer_tokens(model: PreTrainedModel, inputs: BuildInputs, hook: str) -> torch.Tensor:
    """Answer-token activations [n, d_model] of ``model`` on its own answers to the prompts."""
    chats = answered_chats(model, inputs.tokenizer, inputs.diff_prompts, 8, inputs.seed, 64)
    prompts = [tokenize_answer(inputs.tokenizer, chat[:-1], chat[-1]["content"]) for chat in chats]
    return token_activations(model, prompts, hook, pad_id=inputs.tokenizer.pad_token_id or 0).values


def build(inputs: BuildInputs, out_dir: Path, name: str) -> tuple[ProbePack, BuildReport]:
    """Build the pack into ``out_dir`` and return it (loaded back) with the report data."""
    with tempfile.TemporaryDirectory(prefix="emwatch-build-") as scratch:
        return _build(inputs, out_dir, name, Path(scratch))


def _build(
    inputs: BuildInputs, out_dir: Path, name: str, scratch: Path
) -> tuple[ProbePack, BuildReport]:
    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(stage: str) -> None:
        nonlocal clock
        seconds[stage] = time.perf_counter() - clock
        clock = time.perf_counter()
        log.info("build: %s done in %.1f s", stage, seconds[stage])

    fits = [fit_directions(c, inputs.hook_points, seed=inputs.seed) for c in inputs.contrasts]
    primary = fits[0]
    ranking = rank_layers(primary.separations)
    best = choose_hook(primary.separations)
    report = BuildReport(
        name,
        inputs.model_id,
        fits,
        ranking,
        best,
        {fit.method: cosine(fit.directions[best], primary.directions[best]) for fit in fits},
    )
    lap("directions")

    sae_folder = inputs.sae_folder
    if inputs.corpus is not None and (sae_folder is not None or inputs.finetuned is not None):
        tokens, prompts = _corpus_tokens(inputs, best)
        fit_rows, held_rows = split_indices(len(tokens.values), 0.1, inputs.seed)
        if sae_folder is None:
            sae_folder = train_sae(
                tokens.values[fit_rows],
                inputs.sae_config,
                scratch / "sae",
                best,
                inputs.model_id,
            )
        sae = load_sae(sae_folder)
        report.sae_quality = evaluate_sae(sae, tokens.values[held_rows])
        report.residual_norm = float(tokens.values.norm(dim=-1).mean())
        lap("sae")
        if inputs.finetuned is not None and inputs.diff_prompts:
            ranking_latents = rank_by_rise(
                encode_tokens(sae, _answer_tokens(inputs.model, inputs, best)),
                encode_tokens(sae, _answer_tokens(inputs.finetuned, inputs, best)),
            )
            corpus_acts = encode_tokens(sae, tokens.values)  # [n_tokens, d_sae]
            decoders = sae.W_dec.detach().float()  # [d_sae, d_model]
            for rise in ranking_latents[: inputs.watch_top_k]:
                contexts = top_contexts(
                    corpus_acts[:, rise.index],
                    tokens,
                    prompts,
                    inputs.corpus.label_at,
                    inputs.tokenizer,
                )
                report.decoders[rise.index] = decoders[rise.index]
                report.latents.append(
                    WatchedLatentReport(
                        rise,
                        cosine(decoders[rise.index], primary.directions[best]),
                        label_share(contexts, inputs.persona_label),
                        contexts,
                    )
                )
            lap("latent diffing")
            if inputs.evaluate is not None and report.latents:
                top = report.latents[0].rise.index
                for label, vector in (
                    (f"latent:{top}", decoders[top]),
                    ("direction", primary.directions[best]),
                ):
                    report.steering[label] = steering_curve(
                        inputs.model,
                        best,
                        vector,
                        report.residual_norm,
                        inputs.steering_scales,
                        inputs.evaluate,
                    )
                lap("steering")

    pack = _write(inputs, out_dir, name, report, sae_folder)
    lap("write")
    report.seconds = seconds
    return pack, report


def _write(
    inputs: BuildInputs, out_dir: Path, name: str, report: BuildReport, sae_folder: Path | None
) -> ProbePack:
    best = report.best_hook
    watched = inputs.hook_points if inputs.watch_every_layer else [best]
    directions = {
        (hook, fit.method): fit.directions[hook] for hook in watched for fit in report.fits
    }
    sae_spec = None
    if sae_folder is not None and report.latents:
        from monitor.core.sae import read_sae_info

        info = read_sae_info(sae_folder)
        sae_spec = SaeSpec(
            source="local",
            path="sae",
            architecture=info.architecture,
            d_sae=info.d_sae,
            method="model diffing: top latents by rise in mean activation on open prompts",
            watched_latents=[
                WatchedLatent(
                    index=latent.rise.index,
                    label=f"rise {latent.rise.rise:.3g}, {100 * latent.persona_share:.0f}% "
                    f"{inputs.persona_label} contexts",
                )
                for latent in report.latents
            ],
        )
    return write_pack(
        out_dir,
        name=name,
        description=f"Built by emwatch probes build from {inputs.model_id}",
        provenance=new_provenance(
            inputs.model_id,
            int(inputs.model.config.hidden_size),
            {
                "best_hook_point": best,
                "watched_hook_points": list(watched),
                "methods": [fit.method for fit in report.fits],
                "sae": None
                if report.sae_quality is None
                else {
                    "fraction_variance_explained": report.sae_quality.fraction_variance_explained,
                    "l0": report.sae_quality.l0,
                    "dead_fraction": report.sae_quality.dead_fraction,
                },
            },
        ),
        hook_points={
            hook: HookPointSpec(
                directions=_direction_specs(inputs, report, hook),
                sae=sae_spec if hook == best else None,
            )
            for hook in watched
        },
        directions=directions,
        sae_folders={"sae": sae_folder} if sae_spec is not None and sae_folder else None,
    )


def _direction_specs(inputs: BuildInputs, report: BuildReport, hook: str) -> list[DirectionSpec]:
    """Each route's direction at ``hook``, with its held-out separation there."""
    specs = []
    for fit in report.fits:
        separation = next(s for s in fit.separations if s.hook_point == hook)
        specs.append(
            direction_spec(
                fit.method,
                fit.directions[hook],
                fit.method,
                held_out_auroc=separation.auroc,
                effect_size=separation.effect_size,
                **next(c.details for c in inputs.contrasts if c.method == fit.method),
            )
        )
    return specs
