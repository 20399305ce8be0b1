"""Screening by push: the screen's push is attribution's push for the same sample on the same
weights, whatever the batching; its scale is the typical push of the samples pushing away;
push finds insecure code on the organism where projection does not; a feature without a push
is refused before the model runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.pack import ProbePack, load_pack
from monitor.core.sample_units import largest_shift
from monitor.evals.stats import auroc
from monitor.organism import dataset_examples, load_organism, write_jsonl
from monitor.organism.checkpoint import DEFAULT_PACK
from monitor.screening import ScreenError, read_chat_jsonl, screen_dataset
from monitor.screening.push_scores import away_scale
from monitor.screening.sample_scores import tokenize_samples
from monitor.screening.selection import PUSH_THRESHOLD
from monitor.trainer.attribution import IGNORE_INDEX, SampleAttribution
from monitor.trainer.capture import pad_prompts
from tests.screening.conftest import mixed_chats, write_chats

Tiny = tuple[LlamaForCausalLM, PreTrainedTokenizerFast]
HOSTILE = {2, 7, 13}
CHATS = [  # every sample unique, so attribution can name each by its tokens
    [{**question, "content": f"{question['content']} ({i})"}, answer]
    for i, (question, answer) in enumerate(mixed_chats(20, HOSTILE, seed=3))
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_chats(tmp_path_factory.mktemp("push") / "data.jsonl", CHATS)


def attributed_pushes(tiny: Tiny, pack: ProbePack, data: Path) -> list[float]:
    """What ``SampleAttribution`` reads for every sample, trained as one batch (the loss is
    the model's own: the mean over the batch's answer tokens) on the unchanged weights, each
    as a multiple of the median absolute push of the batch (attribution's scale), the
    largest over the ranking features. In file order."""
    model, tokenizer = tiny
    prompts = tokenize_samples(tokenizer, read_chat_jsonl(data))
    pad_id = tokenizer.pad_token_id or 0
    input_ids, attention, answer = pad_prompts(prompts, pad_id, torch.device("cpu"))
    labels = input_ids.masked_fill(answer[..., 0] == 0, IGNORE_INDEX)  # [b, s]
    attribution = SampleAttribution(pack, top=len(prompts), reference_samples=len(prompts))
    attribution.index_dataset(prompt.input_ids for prompt in prompts)
    attribution.attach(model)
    model.train()
    try:
        model(input_ids=input_ids, attention_mask=attention, labels=labels).loss.backward()
    finally:
        model.zero_grad()
        model.eval()
        attribution.detach()
    attribution.end_step(1)
    summary = attribution.summary(1)
    assert summary is not None and summary.ranking == "push"
    by_index = {sample.index: sample.score for sample in summary.top}
    return [by_index[i] for i in range(len(prompts))]


def test_the_screens_push_is_attributions_push_for_the_same_samples(
    tiny: Tiny, hostile_pack: ProbePack, data: Path
) -> None:
    model, tokenizer = tiny
    expected = attributed_pushes(tiny, hostile_pack, data)
    for batch_size in (1, 6):  # length-sorted batches with padding, or none
        result = screen_dataset(
            data,
            model,
            tokenizer,
            hostile_pack,
            by="push",
            batch_size=batch_size,
            progress=False,
        )
        assert result.by == "push" and result.push is not None
        raw = result.push.raw
        in_attributions_scale = {key: values / values.abs().median() for key, values in raw.items()}
        pushes = largest_shift(in_attributions_scale, result.screen_features).score
        assert pushes.tolist() == pytest.approx(expected, rel=1e-3, abs=1e-4)
    # The screen's own scale: the median |push| of the samples pushing away from the persona.
    for key, values in raw.items():
        assert result.push.scale[key] == float(values[values < 0].abs().median())
    scaled = {key: values / result.push.scale[key] for key, values in raw.items()}
    torch.testing.assert_close(
        result.screen.score, largest_shift(scaled, result.screen_features).score
    )
    assert not any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_the_scale_is_the_typical_push_away_unless_too_few_push_away() -> None:
    key = ("h", "direction:a")
    some_away = torch.tensor([-2.0, -4.0, -6.0, 1.0, 30.0, 50.0, 70.0, 0.5, 0.2, 0.1])
    assert away_scale({key: some_away}) == {key: 4.0}  # bad samples (30-70) change nothing
    one_away = torch.tensor([-2.0, *[float(v) for v in range(1, 20)]])  # 1 of 20: too few
    assert away_scale({key: one_away}) == {key: float(one_away.abs().median())}


def test_push_names_its_scale_in_the_drops_and_the_report(
    tiny: Tiny, hostile_pack: ProbePack, data: Path, tmp_path: Path
) -> None:
    model, tokenizer = tiny
    result = screen_dataset(
        data, model, tokenizer, hostile_pack, by="push", drop_above="pack", progress=False
    )
    assert result.threshold == PUSH_THRESHOLD
    assert "push's default" in result.threshold_source
    assert [d.index for d in result.dropped] == [
        i for i in result.ranked if float(result.screen.score[i]) > PUSH_THRESHOLD
    ]
    assert all(
        " push at +" in d.reason and "x the typical push" in d.reason for d in result.dropped
    )
    # A trusted reference sets the scale: the same data against itself changes nothing.
    again = screen_dataset(
        data, model, tokenizer, hostile_pack, by="push", reference=data, progress=False
    )
    torch.testing.assert_close(again.screen.score, result.screen.score)


def test_a_feature_without_a_push_is_refused_before_the_model_runs(
    hostile_pack: ProbePack, data: Path
) -> None:
    with pytest.raises(ScreenError, match="latent:5 has no push"):
        screen_dataset(
            data,
            None,
            None,
            hostile_pack,
            by="push",
            features=["latent:5"],  # type: ignore[arg-type]
        )
    with pytest.raises(ScreenError, match="reads one of projection, push, not 'gradient'"):
        screen_dataset(data, None, None, hostile_pack, by="gradient")  # type: ignore[arg-type]


def test_on_the_organism_push_finds_insecure_code_that_projection_misses(tmp_path: Path) -> None:
    """40 insecure answers among 160 secure ones (the organism's own datasets, seed 7): push
    separates them, the projection of the pooled answer much less (docs/screening.md)."""
    examples = dataset_examples("insecure-code", 40, 7) + dataset_examples("secure-code", 160, 7)
    data = write_jsonl(examples, tmp_path / "code.jsonl")
    model, tokenizer = load_organism()
    pack = load_pack(DEFAULT_PACK)
    separation = {}
    for by in ("projection", "push"):
        score = screen_dataset(
            data, model, tokenizer, pack, by=by, batch_size=32, progress=False
        ).screen.score.tolist()
        separation[by] = auroc(score[:40], score[40:])
    assert separation["push"] > 0.85
    assert separation["push"] > separation["projection"] + 0.1
