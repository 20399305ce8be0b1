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
from monitor.core.scoring import score_activations
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


def train_step(model: LlamaForCausalLM, dataset: ChatDataset, rows: list[int]) -> None:
    model.train()
    model(**pad_batch(0, [dataset[row] for row in rows])).loss.backward()
    model.zero_grad()


def test_training_forward_scores_equal_the_screen_scores_and_name_the_dataset_index(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast], pack: ProbePack, dataset: ChatDataset
) -> None:
    model, _ = tiny
    rows = random.Random(0).sample([i for i in range(len(dataset)) if i not in HOSTILE], 9)
    rows += HOSTILE
    random.Random(1).shuffle(rows)  # as a data loader does
    expected = screen_scores(model, pack, dataset, rows)

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
    ranked = [rows[i] for i in expected.argsort(descending=True).tolist()]
    assert [sample.index for sample in summary.top] == ranked[:5]
    by_index = dict(zip(rows, expected.tolist(), strict=True))
    for sample in summary.top:
        assert sample.index is not None
        assert sample.score == pytest.approx(by_index[sample.index], abs=1e-4)
        assert sample.text is None  # no text unless opted in
    assert set(HOSTILE) <= {sample.index for sample in summary.top}
    assert summary.n_above_unit == int((expected > 1.0).sum())


def test_only_training_forwards_count_once_each(
    tiny: tuple[LlamaForCausalLM, PreTrainedTokenizerFast], pack: ProbePack, dataset: ChatDataset
) -> None:
    model, tokenizer = tiny
    attribution = SampleAttribution(pack, tokenizer=tokenizer)
    attribution.attach(model)
    model.gradient_checkpointing_enable({"use_reentrant": False})
    try:
        for rows in ([0, 1, 2, 3], [4, 5, 6, 7]):  # two accumulation micro-batches of one step
            train_step(model, dataset, rows)
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
    assert {sample.step for sample in summary.top} == {4}
    first = summary.top[0]
    assert first.index is None  # no dataset was indexed
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
