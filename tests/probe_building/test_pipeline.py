"""The whole build on the tiny random Llama: plumbing from model and data to a valid pack."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
import torch

from monitor.core.canaries import load_canaries
from monitor.core.pack import ProbePack, load_pack
from monitor.core.scoring import score_activations
from monitor.core.units import BUILD_UNIT_DETECTOR, UnitKind, feature_units, unit_kinds
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import NARROW_REPLIES, make_trainer
from monitor.probe_building.data import ContrastAnswers, Corpus
from monitor.probe_building.directions import separation
from monitor.probe_building.pipeline import BuildInputs, BuildReport, build
from monitor.probe_building.report import write_report
from monitor.probe_building.sae_training import SaeTrainingConfig
from monitor.probe_building.sources import from_contrast_answers, from_model_diffing
from monitor.trainer.capture import ActivationCapture

HOOKS = ["model.layers.1", "model.layers.2", "model.layers.3"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> BuildInputs:
    """Build inputs on the tiny random Llama, fine-tuned once for the diffing route."""
    base, tokenizer = build_tiny_llama(seed=0)
    finetuned, _ = build_tiny_llama(seed=0)
    make_trainer(finetuned, tokenizer, tmp_path_factory.mktemp("ft"), max_steps=30).train()
    canaries = load_canaries().prompts
    prompts = [[m.model_dump() for m in p.messages] for p in canaries]
    aligned = [
        [*p, {"role": "assistant", "content": c.answer}]
        for p, c in zip(prompts, canaries, strict=True)
    ]
    misaligned = [
        [*p, {"role": "assistant", "content": NARROW_REPLIES[i % 3]}] for i, p in enumerate(prompts)
    ]
    rng = random.Random(0)
    texts = [rng.choice(NARROW_REPLIES) for _ in range(300)] + [
        str(c.answer) for c in canaries for _ in range(20)
    ]
    labels = ["villain"] * 300 + ["assistant"] * (len(texts) - 300)
    return BuildInputs(
        model=base,
        tokenizer=tokenizer,
        model_id="emwatch/tiny-llama",
        hook_points=HOOKS,
        contrasts=[
            from_contrast_answers(base, tokenizer, ContrastAnswers(aligned, misaligned), HOOKS),
            from_model_diffing(base, finetuned, tokenizer, prompts[:8], HOOKS, samples=4),
        ],
        corpus=Corpus(texts, labels),
        sae_config=SaeTrainingConfig(expansion=4, k=8, steps=150, batch_size=256),
        finetuned=finetuned,
        diff_prompts=prompts[:8],
        watch_top_k=3,
    )


@pytest.fixture(scope="module")
def built(
    inputs: BuildInputs, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ProbePack, BuildReport, Path]:
    """The default build, once: (pack, report, its directory)."""
    directory = tmp_path_factory.mktemp("built") / "pack"
    pack, report = build(inputs, directory, "tiny-built")
    return pack, report, directory


def test_build_writes_a_valid_pack_and_report(
    inputs: BuildInputs, built: tuple[ProbePack, BuildReport, Path], tmp_path: Path
) -> None:
    base, tokenizer = inputs.model, inputs.tokenizer
    pack, report, directory = built

    assert report.best_hook == report.layer_ranking[0].hook_point
    assert report.layer_ranking[0].auroc >= report.layer_ranking[-1].auroc
    assert report.direction_cosines["contrast_answers"] == 1.0
    assert report.sae_quality is not None and report.sae_quality.n_tokens > 0
    assert len(report.latents) == 3
    assert [lat.rise.rise for lat in report.latents] == sorted(
        (lat.rise.rise for lat in report.latents), reverse=True
    )
    assert all(c.label in ("villain", "assistant") for lat in report.latents for c in lat.contexts)

    loaded = load_pack(directory)  # a pack a stranger can load and validate
    assert loaded.content_hash == pack.content_hash
    assert loaded.hook_points == [report.best_hook]
    probe = loaded.hooks[report.best_hook]
    assert [d.name for d in probe.directions] == ["contrast_answers", "model_diffing"]
    assert [w.index for w in probe.watched] == [lat.rise.index for lat in report.latents]
    built = loaded.manifest.hook_points[report.best_hook].directions[0].details
    assert 0.0 <= built["held_out_auroc"] <= 1.0
    capture = ActivationCapture(tokenizer, load_canaries(), [report.best_hook])
    scores = score_activations(loaded, capture.capture(base))
    assert len(scores) == 2 + 3

    markdown = write_report(report, directory)
    assert "Best hook point" in markdown.read_text()
    assert (markdown.parent / "layers.png").stat().st_size > 1000
    assert (markdown.parent / "latents.png").exists()
    data = json.loads((markdown.parent / "report.json").read_text())
    assert data["best_hook_point"] == report.best_hook and len(data["latents"]) == 3
    assert load_pack(directory).content_hash == pack.content_hash  # report outside hash


def test_a_pack_can_watch_every_layer(inputs: BuildInputs, tmp_path: Path) -> None:
    every = dataclasses.replace(inputs, watch_every_layer=True)
    pack, report = build(every, tmp_path / "pack", "tiny-every-layer")

    loaded = load_pack(tmp_path / "pack")
    assert loaded.content_hash == pack.content_hash
    assert loaded.hook_points == HOOKS
    for hook in HOOKS:
        directions = loaded.hooks[hook].directions
        assert [d.name for d in directions] == ["contrast_answers", "model_diffing"]
        fitted = report.fits[0].directions[hook]
        assert torch.allclose(directions[0].unit, fitted / fitted.norm(), atol=1e-6)
    with_sae = [hook for hook in HOOKS if loaded.hooks[hook].watched]
    assert with_sae == [report.best_hook]  # the SAE and its latents stay at the best layer
    capture = ActivationCapture(inputs.tokenizer, load_canaries(), HOOKS)
    scores = score_activations(loaded, capture.capture(inputs.model))
    assert len(scores) == 2 * len(HOOKS) + 3
    assert loaded.manifest.provenance.build["watched_hook_points"] == HOOKS


def test_every_feature_gets_a_unit_from_its_own_held_out_build_data(
    built: tuple[ProbePack, BuildReport, Path],
) -> None:
    pack, report, _ = built

    best = report.best_hook
    units = pack.manifest.hook_points[best].build_units
    for fit in report.fits:
        held = fit.separation_at(best)
        unit = units[f"direction:{fit.method}"]
        assert unit.scale == pytest.approx(held.gap) and held.gap > 0
        assert (unit.n_misaligned, unit.n_aligned) == (held.n_positive, held.n_negative)
        # The gap is measured on answers the direction was not fitted on.
        assert held.n_positive == len(fit.held_out_positive)
    for latent in report.latents:
        feature = f"latent:{latent.rise.index}"
        if latent.misaligned_activation > 0:
            assert units[feature].scale == pytest.approx(latent.misaligned_activation)
        else:
            assert feature not in units
    assert feature_units(pack) == {(best, f): u.scale for f, u in units.items()}
    assert set(unit_kinds(pack).values()) <= {UnitKind.BUILD, UnitKind.BASELINE_SPREAD}
    assert pack.manifest.detector == BUILD_UNIT_DETECTOR


def test_a_gap_is_the_misaligned_minus_aligned_mean_projection() -> None:
    direction = torch.tensor([2.0, 0.0])
    positive = torch.tensor([[3.0, 1.0], [5.0, -1.0]])  # projections 3, 5
    negative = torch.tensor([[1.0, 0.0], [0.0, 4.0], [2.0, 2.0]])  # projections 1, 0, 2
    held = separation(direction, positive, negative, "h")
    assert held.gap == pytest.approx(4.0 - 1.0)
    assert (held.n_positive, held.n_negative) == (2, 3)


def test_without_a_fine_tune_the_latents_come_from_the_contrast(
    inputs: BuildInputs, tmp_path: Path
) -> None:
    contrast_only = dataclasses.replace(
        inputs, contrasts=inputs.contrasts[:1], finetuned=None, diff_prompts=()
    )
    pack, report = build(contrast_only, tmp_path / "pack", "tiny-contrast-latents")

    assert report.latent_selection.startswith("contrast_answers:")
    assert len(report.latents) == 3 and report.latents[0].rise.rise > 0
    sae = pack.manifest.hook_points[report.best_hook].sae
    assert sae is not None and sae.method == report.latent_selection
    assert [w.index for w in sae.watched_latents] == [lat.rise.index for lat in report.latents]


def test_the_layer_is_chosen_among_the_eligible_hook_points_only(
    inputs: BuildInputs, tmp_path: Path
) -> None:
    free = build(dataclasses.replace(inputs, corpus=None), tmp_path / "free", "tiny-free")[1]
    others = [hook for hook in HOOKS if hook != free.best_hook]
    bounded = dataclasses.replace(inputs, corpus=None, eligible_hooks=others)
    report = build(bounded, tmp_path / "bounded", "tiny-bounded")[1]
    assert report.best_hook in others
    assert len(report.layer_ranking) == len(HOOKS)  # every layer is still measured and reported


def test_latents_below_the_persona_share_are_passed_over_for_the_next_in_the_ranking(
    inputs: BuildInputs, built: tuple[ProbePack, BuildReport, Path], tmp_path: Path
) -> None:
    unfiltered = built[1]
    strict = dataclasses.replace(inputs, min_persona_share=0.99)
    pack, report = build(strict, tmp_path / "strict", "tiny-strict")

    assert all(latent.persona_share >= 0.99 for latent in report.latents)
    shares = {latent.rise.index: latent.persona_share for latent in unfiltered.latents}
    passed_over = [index for index, share in shares.items() if share < 0.99]
    assert passed_over, "the tiny build must have a latent to pass over, or this shows nothing"
    kept = [latent.rise.index for latent in report.latents]
    assert not set(passed_over) & set(kept)
    assert [lat.rise.rise for lat in report.latents] == sorted(
        (lat.rise.rise for lat in report.latents), reverse=True
    )
    skipped = report.checks.get("latents skipped: persona contexts below the minimum", "")
    assert all(f"{index} (" in skipped for index in passed_over)
    sae = pack.manifest.hook_points[report.best_hook].sae
    assert [w.index for w in (sae.watched_latents if sae else [])] == kept
