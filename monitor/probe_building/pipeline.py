"""From a model and data to a validated probe pack with its validation report.

Steps: fit a direction per hook point for every activation contrast and rank hook points by
held-out separation; train (or take) an SAE at the best hook point; find persona latents by
diffing base and fine-tuned activations on open prompts; read their top corpus contexts;
optionally steer; write the pack. The first contrast is the primary one: it picks the layer.
The pack carries the directions at that layer, or (``watch_every_layer``) at every layer.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from monitor.core.pack import (
    BuildUnit,
    DirectionSpec,
    HookPointSpec,
    ProbePack,
    SaeSpec,
    WatchedLatent,
    write_pack,
)
from monitor.core.pack.manifest import direction_feature, latent_feature
from monitor.core.pack.pack import direction_spec, new_provenance
from monitor.core.units import BUILD_UNIT_DETECTOR
from monitor.probe_building.activations import (
    AnswerActivations,
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
from monitor.probe_building.stages import StageClock
from monitor.probe_building.steering import Evaluate, SteeringPoint, steering_curve
from monitor.trainer.capture import tokenize_answer

# How far down the latent ranking the persona-share filter looks, per latent to watch.
CANDIDATES_PER_WATCHED = 4


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
    # Hook points the layer may be chosen from (default: all considered). Published work reads
    # middle layers, and a late layer makes every check nearly a full forward pass.
    eligible_hooks: Sequence[str] | None = None
    # Directions at every hook point, not only the best: a layer that separates a little less
    # well may still move earlier in training. The SAE stays at the best one.
    watch_every_layer: bool = False
    persona_label: str = "villain"  # corpus label whose share among top contexts we report
    # A latent is watched only if at least this share of its top contexts carry the persona
    # label: a latent that rises on the misaligned answers but fires on chat-template
    # positions everywhere false-alarms on healthy fine-tunes (SmolLM2's 409, 42%).
    min_persona_share: float = 0.0
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
    misaligned_activation: float  # pooled held-out misaligned answers: the build unit


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
    latent_selection: str = ""  # how the watched latents were chosen


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


def _rank_latents(
    inputs: BuildInputs, sae: Any, primary: DirectionFit, best: str, report: BuildReport
) -> list[LatentRise]:
    """By model diffing when a fine-tuned model is given, else by the primary contrast.

    The contrast route ranks on the answers the directions were fitted on, encoding each
    answer's pooled activation as a check encodes a canary's, and keeps the held-out answers
    for the latents' units.
    """
    if inputs.finetuned is not None and inputs.diff_prompts:
        report.latent_selection = (
            "model diffing: top latents by rise in mean activation from the base model's to "
            "the fine-tune's answers on open prompts"
        )
        return rank_by_rise(
            encode_tokens(sae, _answer_tokens(inputs.model, inputs, best)),
            encode_tokens(sae, _answer_tokens(inputs.finetuned, inputs, best)),
        )
    contrast = inputs.contrasts[0]
    report.latent_selection = (
        f"{contrast.method}: top latents by rise in pooled activation from the aligned to the "
        "misaligned answers (fit split)"
    )

    def fit_split(side: AnswerActivations, held_out: Sequence[int]) -> torch.Tensor:
        kept = [i for i in range(len(side.counts)) if i not in set(held_out)]
        return encode_tokens(sae, side.subset(kept).means(best))  # [n_fit, d_sae]

    return rank_by_rise(
        fit_split(contrast.negative, primary.held_out_negative),
        fit_split(contrast.positive, primary.held_out_positive),
    )


def build(
    inputs: BuildInputs, out_dir: Path, name: str, clock: StageClock | None = None
) -> tuple[ProbePack, BuildReport]:
    """Build the pack into ``out_dir`` and return it (loaded back) with the report data.

    ``clock`` carries the stages timed before (loading, sampling, activations) into the
    report's build times."""
    clock = clock or StageClock()
    with tempfile.TemporaryDirectory(prefix="emwatch-build-") as scratch:
        return _build(inputs, out_dir, name, Path(scratch), clock)


def _build(
    inputs: BuildInputs, out_dir: Path, name: str, scratch: Path, clock: StageClock
) -> tuple[ProbePack, BuildReport]:
    lap = clock.lap
    fits = [fit_directions(c, inputs.hook_points, seed=inputs.seed) for c in inputs.contrasts]
    primary = fits[0]
    ranking = rank_layers(primary.separations)
    eligible = set(inputs.eligible_hooks or inputs.hook_points)
    best = choose_hook([s for s in primary.separations if s.hook_point in eligible])
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
    if inputs.corpus is not None:
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
        ranking_latents = _rank_latents(inputs, sae, primary, best, report)
        # Pooled held-out misaligned answers, encoded as a check's canaries are.
        held_misaligned = inputs.contrasts[0].positive.subset(primary.held_out_positive)
        on_misaligned = encode_tokens(sae, held_misaligned.means(best)).mean(dim=0)  # [d_sae]
        corpus_acts = encode_tokens(sae, tokens.values)  # [n_tokens, d_sae]
        decoders = sae.W_dec.detach().float()  # [d_sae, d_model]
        skipped: list[str] = []
        for rise in ranking_latents[: CANDIDATES_PER_WATCHED * inputs.watch_top_k]:
            if len(report.latents) == inputs.watch_top_k:
                break
            contexts = top_contexts(
                corpus_acts[:, rise.index],
                tokens,
                prompts,
                inputs.corpus.label_at,
                inputs.tokenizer,
            )
            share = label_share(contexts, inputs.persona_label)
            if share < inputs.min_persona_share:
                skipped.append(f"{rise.index} ({100 * share:.0f}%)")
                continue
            report.decoders[rise.index] = decoders[rise.index]
            report.latents.append(
                WatchedLatentReport(
                    rise,
                    cosine(decoders[rise.index], primary.directions[best]),
                    share,
                    contexts,
                    float(on_misaligned[rise.index]),
                )
            )
        if skipped:
            report.checks["latents skipped: persona contexts below the minimum"] = (
                f"{', '.join(skipped)}; minimum {100 * inputs.min_persona_share:.0f}% "
                f"{inputs.persona_label} contexts"
            )
        lap("latents")
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
    report.seconds = clock.seconds
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
            method=report.latent_selection,
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
                build_units=_build_units(report, hook, with_latents=sae_spec is not None),
            )
            for hook in watched
        },
        directions=directions,
        sae_folders={"sae": sae_folder} if sae_spec is not None and sae_folder else None,
        detector=BUILD_UNIT_DETECTOR,
    )


def _build_units(report: BuildReport, hook: str, *, with_latents: bool) -> dict[str, BuildUnit]:
    """Each feature's z unit from the build's held-out answers (see ``BuildUnit``).

    A feature whose misaligned side does not lie above its aligned side gets none (it then
    falls back to the baseline spread, and the report shows why)."""
    units: dict[str, BuildUnit] = {}
    for fit in report.fits:
        held = fit.separation_at(hook)
        if held.gap > 0:
            units[direction_feature(fit.method)] = BuildUnit(
                scale=held.gap,
                method=f"{fit.method}: held-out misaligned minus aligned answer means",
                n_misaligned=held.n_positive,
                n_aligned=held.n_negative,
            )
    if with_latents and hook == report.best_hook:
        n_misaligned = report.fits[0].separation_at(hook).n_positive
        for latent in report.latents:
            if latent.misaligned_activation > 0:
                units[latent_feature(latent.rise.index)] = BuildUnit(
                    scale=latent.misaligned_activation,
                    method=f"{report.fits[0].method}: mean activation on held-out misaligned "
                    "answers (pooled, as a check's canaries)",
                    n_misaligned=n_misaligned,
                    n_aligned=0,
                )
    return units


def _direction_specs(inputs: BuildInputs, report: BuildReport, hook: str) -> list[DirectionSpec]:
    """Each route's direction at ``hook``, with its held-out separation there."""
    specs = []
    for fit in report.fits:
        separation = fit.separation_at(hook)
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
