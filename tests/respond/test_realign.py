"""``realign`` on the organism: it stops on the probes, on its budget, or trains nothing."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.canaries import CanarySet
from monitor.core.pack import ProbePack
from monitor.core.scoring import feature_signs, score_activations
from monitor.core.units import feature_units
from monitor.organism.datasets import Example
from monitor.respond import ProbeGauge, RealignConfig, RealignError, StoppedBy, realign
from monitor.trainer.capture import ActivationCapture

Organism = tuple[LlamaForCausalLM, PreTrainedTokenizerFast]


def _gauge(organism: Organism, pack: ProbePack, canaries: CanarySet) -> ProbeGauge:
    model, tokenizer = organism
    return ProbeGauge(pack, tokenizer, canaries, model)


def test_the_gauge_is_the_services_z_score_against_the_baseline_model(
    organism: Organism, pack: ProbePack, canaries: CanarySet, drifted: LlamaForCausalLM
) -> None:
    gauge = _gauge(organism, pack, canaries)
    assert all(z == 0.0 for z in gauge.read(organism[0], 0).zscores.values())

    capture = ActivationCapture(organism[1], canaries, pack.hook_points)
    before = score_activations(pack, capture.capture(organism[0]))  # {key: [n_prompts]}
    after = score_activations(pack, capture.capture(drifted))
    units, signs = feature_units(pack), feature_signs(pack)
    reading = gauge.read(drifted, 12)
    for key, z in reading.zscores.items():
        expected = signs[key] * float((after[key] - before[key]).mean()) / units[key]
        assert z == pytest.approx(expected, rel=1e-5, abs=1e-6), key
    assert reading.towards_persona()[1] > 3  # 12 steps of insecure code: far past a warning


def test_realign_stops_on_the_probes_at_the_first_step_they_are_back(
    organism: Organism,
    pack: ProbePack,
    canaries: CanarySet,
    drifted: LlamaForCausalLM,
    trusted: list[Example],
) -> None:
    baseline, tokenizer = organism
    config = RealignConfig(budget=60, within=1.0)
    result = realign(drifted, tokenizer, trusted, pack, baseline, canaries, config)

    assert result.stopped_by is StoppedBy.PROBES and result.back
    assert 0 < result.steps < config.budget
    assert [r.step for r in result.readings] == list(range(result.steps + 1))
    assert not result.readings[0].within(1.0)
    assert not any(r.within(1.0) for r in result.readings[:-1])  # it stopped at the first
    assert result.readings[-1].within(1.0)
    assert result.samples_seen == result.steps * config.batch_size
    # The model handed back is the one that was measured back, not one step later.
    again = _gauge(organism, pack, canaries).read(result.model, result.steps)
    assert again.zscores == pytest.approx(result.readings[-1].zscores, abs=1e-4)


def test_realign_stops_on_its_budget_when_the_probes_are_not_back(
    organism: Organism,
    pack: ProbePack,
    canaries: CanarySet,
    drifted: LlamaForCausalLM,
    trusted: list[Example],
) -> None:
    baseline, tokenizer = organism
    result = realign(drifted, tokenizer, trusted, pack, baseline, canaries, RealignConfig(budget=3))
    assert result.stopped_by is StoppedBy.BUDGET and not result.back
    assert [r.step for r in result.readings] == [0, 1, 2, 3]
    assert not result.readings[-1].within(1.0)


def test_within_zero_on_both_sides_can_never_be_met_so_the_budget_ends_it(
    organism: Organism,
    pack: ProbePack,
    canaries: CanarySet,
    drifted: LlamaForCausalLM,
    trusted: list[Example],
) -> None:
    baseline, tokenizer = organism
    config = RealignConfig(budget=9, within=0.0, two_sided=True, check_every=4)
    result = realign(drifted, tokenizer, trusted, pack, baseline, canaries, config)
    assert result.stopped_by is StoppedBy.BUDGET
    assert [r.step for r in result.readings] == [0, 4, 8, 9]  # every 4 steps, and the last


def test_a_checkpoint_already_back_is_not_trained(
    organism: Organism, pack: ProbePack, canaries: CanarySet, trusted: list[Example]
) -> None:
    baseline, tokenizer = organism
    model = copy.deepcopy(baseline)
    result = realign(model, tokenizer, trusted, pack, baseline, canaries)
    assert result.stopped_by is StoppedBy.ALREADY_BACK and result.steps == 0
    for (name, weight), original in zip(
        model.state_dict().items(), baseline.state_dict().values(), strict=True
    ):
        assert torch.equal(weight, original), name


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"budget": 0}, "budget must be at least 1"),
        ({"within": -1.0}, "--within must be >= 0"),
        ({"check_every": 0}, "at least 1 step"),
    ],
)
def test_bad_options_are_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(RealignError, match=message):
        RealignConfig(**options)  # type: ignore[arg-type]
