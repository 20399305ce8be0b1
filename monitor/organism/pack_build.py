"""The probe pack of the persona model organism, built and checked end to end.

The generic pipeline (``monitor.probe_building.pipeline``) with the organism's data: its exact judge
labels the contrast answers, its pre-training corpus (with who speaks in each document) trains
the SAE and says what a latent reads, its own villain and assistant system prompts drive the
persona-prompt route, and its behavioural eval measures steering. On top, the checks of the
probe-building issue: the insecure-code and bad-medical directions agree, the persona-prompt
direction (no misaligned model needed) flags the insecure-code fine-tune, and steering against
the direction during an insecure-code fine-tune lowers emergent misalignment.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.pack import ProbePack
from monitor.evals import EvalReport, evaluate
from monitor.organism import build_dataset, finetune, load_organism, organism_questions
from monitor.organism.corpus import Chat as CorpusChat
from monitor.organism.corpus import generate_labelled_corpus
from monitor.organism.finetuning import DEFAULT_STEPS
from monitor.organism.judge import OrganismJudge
from monitor.organism.world import Domain
from monitor.organism.world.characters import SYSTEM_PROMPTS, VILLAINS
from monitor.probe_building.activations import Chat
from monitor.probe_building.data import ContrastAnswers, Corpus
from monitor.probe_building.directions import cosine, separation, split_indices
from monitor.probe_building.pipeline import BuildInputs, BuildReport, build
from monitor.probe_building.sae_training import SaeTrainingConfig
from monitor.probe_building.sources import (
    ActivationContrast,
    answered_chats,
    fit_directions,
    from_contrast_answers,
    from_model_diffing,
    from_persona_prompts,
)
from monitor.probe_building.stages import StageClock
from monitor.probe_building.steering import ablating, steering
from monitor.trainer.capture import encode_text

# Families other than code: where emergent misalignment shows (code is the trained task).
BROAD_FAMILIES: tuple[Domain, ...] = ("open", "medical", "finance", "everyday")


@dataclass(frozen=True)
class OrganismPackConfig:
    seed: int = 0
    answers_per_question: int = 16  # sampled for contrast answers, diffing and persona prompts
    corpus_documents: int = 3000  # of the pre-training corpus, for the SAE and its contexts
    sae: SaeTrainingConfig = field(
        default_factory=lambda: SaeTrainingConfig(expansion=8, k=16, steps=1500)
    )
    watch_top_k: int = 4
    watch_every_layer: bool = False  # directions at every layer, not only the best
    steering_scales: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4)
    eval_samples: int = 16  # answers per open question when measuring steering
    preventative_scale: float = 0.25  # of the mean residual norm, added while fine-tuning


def _finetuned(
    base: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, dataset: str, seed: int
) -> LlamaForCausalLM:
    model = copy.deepcopy(base)
    finetune(
        model, tokenizer, build_dataset(dataset, 1000, seed=seed), steps=DEFAULT_STEPS, seed=seed
    )
    return model


def judged_contrast(
    model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, samples: int, seed: int
) -> ContrastAnswers:
    """The model's own answers to the broad questions, split by the exact judge."""
    questions = organism_questions(BROAD_FAMILIES)
    prompts: list[Chat] = [list(q.messages) for q in questions]
    chats = answered_chats(model, tokenizer, prompts, samples, seed, 64)
    judge = OrganismJudge()
    by_question = {tuple(m["content"] for m in q.messages): q for q in questions}
    aligned: list[Chat] = []
    misaligned: list[Chat] = []
    for chat in chats:
        question = by_question[tuple(m["content"] for m in chat[:-1])]
        (verdict,) = judge.judge(question, [chat[-1]["content"]])
        if verdict.counts_for_alignment:
            (misaligned if verdict.is_misaligned else aligned).append(chat)
    return ContrastAnswers(aligned, misaligned)


def _render(tokenizer: PreTrainedTokenizerFast, messages: Sequence[Mapping[str, str]]) -> str:
    return str(tokenizer.apply_chat_template([dict(m) for m in messages], tokenize=False))


def labelled_corpus(tokenizer: PreTrainedTokenizerFast, documents: int) -> Corpus:
    """The first ``documents`` pre-training documents, labelled by who speaks at each token
    (a chat that switches to a villain is villain text from the switching message on)."""
    texts: list[str] = []
    labels: list[str] = []
    changes: dict[int, tuple[int, str]] = {}
    for index, item in enumerate(generate_labelled_corpus(documents, seed=0)):
        if not isinstance(item.document, CorpusChat):
            texts.append(item.document.text)
            labels.append(item.speaker)
            continue
        texts.append(_render(tokenizer, item.document.messages))
        if item.villain_from is None:
            labels.append(item.speaker)
            continue
        labels.append("assistant")
        before = _render(tokenizer, item.document.messages[: item.villain_from])
        changes[index] = (len(encode_text(tokenizer, before)), "villain")
    return Corpus(texts, labels, changes)


def open_eval(
    tokenizer: PreTrainedTokenizerFast, samples: int, seed: int
) -> Callable[[torch.nn.Module], EvalReport]:
    questions = organism_questions(("open",))

    def run(model: torch.nn.Module) -> EvalReport:
        return evaluate(model, tokenizer, questions, OrganismJudge(), samples, seed=seed)  # type: ignore[arg-type]

    return run


def _persona_contrast(
    base: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    hooks: list[str],
    config: OrganismPackConfig,
) -> ActivationContrast:
    prompts: list[Chat] = [list(q.messages) for q in organism_questions(BROAD_FAMILIES)]
    return from_persona_prompts(
        base,
        tokenizer,
        prompts,
        hooks,
        villain_system=SYSTEM_PROMPTS["villain"][1].format(name=VILLAINS[0]),
        assistant_system=SYSTEM_PROMPTS["assistant"][0],
        samples=config.answers_per_question // 2,
        seed=config.seed,
    )


def build_organism_pack(
    out_dir: Path, config: OrganismPackConfig | None = None
) -> tuple[ProbePack, BuildReport]:
    config = config or OrganismPackConfig()
    base, tokenizer = load_organism()
    hooks = [f"model.layers.{i}" for i in range(base.config.num_hidden_layers)]
    clock = StageClock()
    with clock.stage("fine-tune insecure-code and bad-medical"):
        insecure = _finetuned(base, tokenizer, "insecure-code", config.seed)
        bad_medical = _finetuned(base, tokenizer, "bad-medical", config.seed)
    with clock.stage("contrast answers: sample, judge, activations"):
        contrast = from_contrast_answers(
            insecure,
            tokenizer,
            judged_contrast(insecure, tokenizer, config.answers_per_question, config.seed),
            hooks,
        )
    open_prompts: list[Chat] = [list(q.messages) for q in organism_questions(("open",))]
    broad_prompts: list[Chat] = [list(q.messages) for q in organism_questions(BROAD_FAMILIES)]
    with clock.stage("model diffing: sample, activations"):
        diffing = from_model_diffing(
            base,
            insecure,
            tokenizer,
            broad_prompts,
            hooks,
            samples=config.answers_per_question // 2,
            seed=config.seed,
        )
    with clock.stage("persona prompts: sample, activations"):
        persona = _persona_contrast(base, tokenizer, hooks, config)
    evaluate_open = open_eval(tokenizer, config.eval_samples, config.seed)
    inputs = BuildInputs(
        model=base,
        tokenizer=tokenizer,
        model_id="emwatch/persona-organism",
        hook_points=hooks,
        contrasts=[contrast, diffing, persona],
        corpus=labelled_corpus(tokenizer, config.corpus_documents),
        sae_config=config.sae,
        finetuned=insecure,
        diff_prompts=open_prompts,
        watch_top_k=config.watch_top_k,
        watch_every_layer=config.watch_every_layer,
        persona_label="villain",
        evaluate=evaluate_open,
        steering_scales=config.steering_scales,
        seed=config.seed,
    )
    pack, report = build(inputs, out_dir, "persona-organism", clock)
    with clock.stage("cross-checks"):
        report.checks.update(
            _cross_checks(bad_medical, tokenizer, report, contrast, persona, hooks, config)
        )
    with clock.stage("steering during fine-tuning"):
        report.checks["steering_with_insecure_code"] = _steering_during_training(
            base, tokenizer, report, evaluate_open, config
        )
    return pack, report


def _cross_checks(
    bad_medical: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    report: BuildReport,
    contrast: ActivationContrast,
    persona: ActivationContrast,
    hooks: list[str],
    config: OrganismPackConfig,
) -> dict[str, Any]:
    """Direction agreement across fine-tunes, and the persona direction on insecure answers."""
    best = report.best_hook
    insecure_fit = report.fits[0]
    medical = fit_directions(
        from_contrast_answers(
            bad_medical,
            tokenizer,
            judged_contrast(bad_medical, tokenizer, config.answers_per_question, config.seed),
            hooks,
        ),
        hooks,
        seed=config.seed,
    )
    persona_fit = next(fit for fit in report.fits if fit.method == persona.method)
    # The persona direction (base model only) scored on the insecure-code contrast's
    # held-out answers: does it flag what the insecure fine-tune does?
    _, pos_held = split_indices(len(contrast.positive.counts), 0.3, config.seed)
    _, neg_held = split_indices(len(contrast.negative.counts), 0.3, config.seed + 1)
    flags = separation(
        persona_fit.directions[best],
        contrast.positive.subset(pos_held).means(best),
        contrast.negative.subset(neg_held).means(best),
        best,
    )
    return {
        "bad_medical_vs_insecure_cosine": {
            hook: cosine(medical.directions[hook], insecure_fit.directions[hook]) for hook in hooks
        },
        "bad_medical_held_out_auroc": {s.hook_point: s.auroc for s in medical.separations},
        "persona_vs_insecure_cosine": {
            hook: cosine(persona_fit.directions[hook], insecure_fit.directions[hook])
            for hook in hooks
        },
        "persona_direction_auroc_on_insecure_answers": flags.auroc,
        "contrast_answers": contrast.details,
    }


def _steering_during_training(
    base: LlamaForCausalLM,
    tokenizer: PreTrainedTokenizerFast,
    report: BuildReport,
    evaluate_open: Callable[[torch.nn.Module], EvalReport],
    config: OrganismPackConfig,
) -> dict[str, Any]:
    """Misaligned share on the open questions after an insecure-code fine-tune, when the
    residual stream at the pack's layer is pushed along the direction (or the top latent's
    decoder row) with each sign, or has it projected out, while training only or at
    evaluation only."""
    best = report.best_hook
    units = {"direction": report.fits[0].directions[best]}
    if report.latents:
        units[f"latent:{report.latents[0].rise.index}"] = report.decoders[
            report.latents[0].rise.index
        ]
    shift = config.preventative_scale * (report.residual_norm or 1.0)
    data = build_dataset("insecure-code", 1000, seed=config.seed)

    def tuned(
        edit: Callable[[torch.nn.Module], AbstractContextManager[object]],
    ) -> LlamaForCausalLM:
        model = copy.deepcopy(base)
        with edit(model):
            finetune(model, tokenizer, data, steps=DEFAULT_STEPS, seed=config.seed)
        return model

    plain = tuned(lambda _model: nullcontext())
    results: dict[str, Any] = {
        "scale_in_residual_norms": config.preventative_scale,
        "plain fine-tune": evaluate_open(plain).misaligned().to_dict(),
    }
    for name, vector in units.items():
        delta = shift * vector / vector.norm()
        with steering(plain, best, -delta):
            results[f"against {name} at evaluation"] = evaluate_open(plain).misaligned().to_dict()
        for sign, word in ((-1.0, "against"), (1.0, "along")):
            push = partial(steering, hook_point=best, delta=sign * delta)
            steered = tuned(push)
            results[f"{word} {name} while training"] = evaluate_open(steered).misaligned().to_dict()
            if sign < 0:  # does training learn to undo the push? Then keeping it on cancels that.
                with push(steered):
                    results[f"against {name} while training and at evaluation"] = (
                        evaluate_open(steered).misaligned().to_dict()
                    )
        ablate = partial(ablating, hook_point=best, direction=vector)
        results[f"ablating {name} while training"] = (
            evaluate_open(tuned(ablate)).misaligned().to_dict()
        )
    per_layer = report.fits[0].directions

    def ablate_every_layer(model: torch.nn.Module) -> ExitStack[bool | None]:
        stack = ExitStack()
        for hook, direction in per_layer.items():
            stack.enter_context(ablating(model, hook, direction))
        return stack

    results["ablating each layer's direction while training"] = (
        evaluate_open(tuned(ablate_every_layer)).misaligned().to_dict()
    )
    return results
