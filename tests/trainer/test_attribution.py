"""Training-sample attribution: scores taken from the training forward equal the screen's scores
for the same samples on the same weights, samples are named by their dataset index, and only
training forwards count (not evaluation, not a check's capture, not a checkpointing recompute)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.attribution import AttributionSummary
from monitor.core.canaries import load_canaries
from monitor.core.pack import ProbePack
from monitor.core.sample_units import default_features, largest_shift, sample_units
from monitor.core.scoring import feature_signs, score_activations
from monitor.core.wire import Check, decode_check, encode_check
from monitor.fixtures.tiny_llama import build_tiny_llama
from monitor.fixtures.tiny_loop import ChatDataset, pad_batch
from monitor.trainer.attribution import SampleAttribution, dataset_token_ids
from monitor.trainer.capture import ActivationCapture, TokenizedPrompt, pooled_answer_sums
from monitor.trainer.spool import Spool
from tests.screening.conftest import build_hostile_pack, mixed_chats

HOSTILE = [3, 11, 17]  # dataset indices of the planted hostile samples
CHATS = [
    [{**question, "content": f"{question['content']} ({i})"}, answer]  # every sample unique
    for i, (question, answer) in enumerate(mixed_chats(24, HOSTILE, seed=1))
]


@pytest.fixture(scope="module")
def tiny() -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    return build_tiny_llama(seed=0)


@pytest.fixture(scope="module")
def pack(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast], tmp_path_factory: pytest.TempPathFactory
) -> ProbePack:
    return build_hostile_pack(*tiny, tmp_path_factory.mktemp("attribution") / "pack")


@pytest.fixture(scope="module")
def dataset(tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast]) -> ChatDataset:
    return ChatDataset(tiny[1], CHATS)


def screen_scores(
    model: LlamaForCausalLM, pack: ProbePack, dataset: ChatDataset, rows: list[int]
) -> torch.Tensor:
    """The screen's path, independent of the hooks: capture's pooling of each sample's
    trained tokens, the service's scoring, units against the median of these same samples."""
    prompts = []
    for row in rows:
        item = dataset[row]
        prompts.append(
            TokenizedPrompt(item["input_ids"].tolist(), int((item["labels"] == -100).sum()))
        )
    sums, counts = pooled_answer_sums(model, pack.hook_points, prompts, pad_id=0)
    raw = score_activations(pack, {hook: s / counts[:, None] for hook, s in sums.items()})
    features = default_features(pack)
    units = sample_units(pack, {key: raw[key] for key in features}, "these samples")
    return largest_shift(units.in_units(raw), features).score  # [n] in rows' order


def expected_pushes(
    model: LlamaForCausalLM, pack: ProbePack, dataset: ChatDataset, rows: list[int]
) -> torch.Tensor:
    """Independent of the hooks: autograd of the batch loss with respect to the hidden states
    the model returns, along each hook point's first direction, over the median absolute push
    of these same samples; the largest over the hook points. [n] in rows' order."""
    model.train()
    batch = pad_batch(0, [dataset[row] for row in rows])
    output = model(**batch, output_hidden_states=True)
    hidden = [output.hidden_states[int(hook.split(".")[-1]) + 1] for hook in pack.hook_points]
    gradients = torch.autograd.grad(output.loss, hidden)
    model.zero_grad()
    attended = batch["attention_mask"][..., None].float()  # [b, s, 1]
    signs = feature_signs(pack)
    pushes = {}
    for hook, gradient in zip(pack.hook_points, gradients, strict=True):
        key = (hook, pack.hooks[hook].directions[0].feature)
        push = -signs[key] * (
            (gradient * attended).sum(dim=1) @ pack.hooks[hook].directions[0].unit
        )
        pushes[key] = push / push.abs().median()  # [b]
    return largest_shift(pushes, list(pushes)).score


def train_step(model: LlamaForCausalLM, dataset: ChatDataset, rows: list[int]) -> None:
    model.train()
    model(**pad_batch(0, [dataset[row] for row in rows])).loss.backward()
    model.zero_grad()


def test_samples_are_ranked_by_push_with_the_screens_projection_and_their_dataset_index(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast], pack: ProbePack, dataset: ChatDataset
) -> None:
    model, _ = tiny
    rows = random.Random(0).sample([i for i in range(len(dataset)) if i not in HOSTILE], 9)
    rows += HOSTILE
    random.Random(1).shuffle(rows)  # as a data loader does
    projections = dict(zip(rows, screen_scores(model, pack, dataset, rows).tolist(), strict=True))
    pushes = expected_pushes(model, pack, dataset, rows)

    attribution = SampleAttribution(pack, top=5, reference_samples=len(rows))
    assert attribution.index_dataset(dataset_token_ids(dataset) or []) == len(dataset)
    attribution.attach(model)
    try:
        train_step(model, dataset, rows)
    finally:
        attribution.detach()
    attribution.end_step(1)
    summary = attribution.summary(1)

    assert summary is not None
    assert (summary.first_step, summary.last_step, summary.n_samples) == (1, 1, len(rows))
    assert summary.ranking == "push"
    ranked = [rows[i] for i in pushes.argsort(descending=True).tolist()]
    assert [sample.index for sample in summary.top] == ranked[:5]
    by_index = dict(zip(rows, pushes.tolist(), strict=True))
    for sample in summary.top:
        assert sample.index is not None
        assert sample.score == pytest.approx(by_index[sample.index], rel=1e-3, abs=1e-4)
        assert sample.projection == pytest.approx(projections[sample.index], abs=1e-4)
        assert sample.text is None  # no text unless opted in
    assert summary.n_above_unit == sum(value > 1.0 for value in projections.values())


@pytest.mark.parametrize("reentrant", [False, True])
def test_only_training_forwards_count_once_each(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast],
    pack: ProbePack,
    dataset: ChatDataset,
    reentrant: bool,
) -> None:
    model, tokenizer = tiny
    rows = [0, 1, 2, 3]
    expected = expected_pushes(model, pack, dataset, rows)
    attribution = SampleAttribution(pack, tokenizer=tokenizer, reference_samples=4)
    attribution.index_dataset(dataset_token_ids(dataset) or [])
    attribution.attach(model)
    # Either way the layers run again in the backward pass; the hooks must count them once.
    model.gradient_checkpointing_enable({"use_reentrant": reentrant})
    try:
        for batch in (rows, [4, 5, 6, 7]):  # two accumulation micro-batches of one step
            train_step(model, dataset, batch)
        with torch.no_grad():
            model.eval()
            model(**pad_batch(0, [dataset[8]]))  # an evaluation forward
        ActivationCapture(tokenizer, load_canaries(), pack.hook_points).capture(model)
    finally:
        model.gradient_checkpointing_disable()
        attribution.detach()
    attribution.end_step(4)
    summary = attribution.summary(4)

    assert summary is not None
    assert summary.n_samples == 8  # not 16 (recompute) and not more (eval, capture)
    assert summary.ranking == "push"
    first_batch = dict(zip(rows, expected.tolist(), strict=True))
    compared = [sample for sample in summary.top if sample.index in first_batch]
    assert len(compared) == 4  # top 20 of 8: every sample
    for sample in compared:
        assert sample.score == pytest.approx(first_batch[sample.index], rel=1e-3, abs=1e-4)
    assert {sample.step for sample in summary.top} == {4}
    first = summary.top[0]
    assert first.text is not None and first.text in {chat[-1]["content"] for chat in CHATS}
    assert attribution.summary(5) is None  # the window started again: nothing scored since


def test_a_summary_travels_in_its_check_through_the_spool(tmp_path: Path) -> None:
    summary = AttributionSummary.model_validate(
        {
            "first_step": 3,
            "last_step": 4,
            "n_samples": 16,
            "n_above_unit": 2,
            "reference": "the median of the first 64 training samples of the run",
            "top": [
                {"index": 7, "step": 4, "score": 2.5, "feature": "model.layers.1 direction:em"}
            ],
        }
    )
    check = Check("run", 4, "0" * 64, {"model.layers.1": torch.ones(2, 8)}, summary)
    spool = Spool(tmp_path, "run")
    spool.put(4, encode_check(check))
    assert decode_check(spool.read(4)).attribution == summary


def test_without_a_gradient_at_the_hook_points_samples_are_ranked_by_projection(
    pack: ProbePack, dataset: ChatDataset
) -> None:
    model, _ = build_tiny_llama(seed=0)
    for name, parameter in model.named_parameters():  # frozen up to the deepest hook point
        parameter.requires_grad_(name.startswith("model.layers.3.") or name == "model.norm.weight")
    attribution = SampleAttribution(pack)
    attribution.attach(model)
    try:
        train_step(model, dataset, [0, 1, 2, 3])
    finally:
        attribution.detach()
    attribution.end_step(1)
    summary = attribution.summary(1)
    assert summary is not None and summary.ranking == "projection"
    assert [sample.score for sample in summary.top] == [sample.projection for sample in summary.top]
