"""The screen and a training check share one definition of pooling and scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.canaries import load_canaries
from monitor.core.pack import ProbePack
from monitor.core.scoring import score_activations
from monitor.screening import ScreenError, screen_dataset
from monitor.screening.sample_scores import check_model_fits
from monitor.trainer.capture import ActivationCapture
from tests.factories import make_pack
from tests.screening.conftest import mixed_chats, write_chats

Tiny = tuple[LlamaForCausalLM, PreTrainedTokenizerFast]


@pytest.mark.parametrize("canary", [0, 9, 15])
def test_the_screen_scores_a_canary_as_a_check_does(
    tiny: Tiny, hostile_pack: ProbePack, tmp_path: Path, canary: int
) -> None:
    model, tokenizer = tiny
    canaries = load_canaries()
    check = score_activations(
        hostile_pack,
        ActivationCapture(tokenizer, canaries, hostile_pack.hook_points).capture(model),
    )
    prompt = canaries.prompts[canary]
    assert prompt.answer is not None
    chat = [m.model_dump() for m in prompt.messages]
    data = write_chats(
        tmp_path / "one.jsonl", [[*chat, {"role": "assistant", "content": prompt.answer}]]
    )

    screened = screen_dataset(data, model, tokenizer, hostile_pack, progress=False)

    assert set(screened.scores.raw) == set(check)  # every direction and watched latent
    for key, values in check.items():
        torch.testing.assert_close(
            screened.scores.raw[key][0], values[canary], atol=1e-5, rtol=1e-4
        )
    assert int(screened.scores.answer_tokens[0]) == len(
        tokenizer(prompt.answer, add_special_tokens=False)["input_ids"]
    )


def test_cosine_is_the_projection_over_the_pooled_norm(
    tiny: Tiny, hostile_pack: ProbePack, tmp_path: Path
) -> None:
    model, tokenizer = tiny
    canaries = load_canaries()
    pooled = ActivationCapture(tokenizer, canaries, hostile_pack.hook_points).capture(model)
    chats = [
        [*(m.model_dump() for m in p.messages), {"role": "assistant", "content": p.answer or ""}]
        for p in canaries.prompts
    ]
    screened = screen_dataset(
        write_chats(tmp_path / "canaries.jsonl", chats),
        model,
        tokenizer,
        hostile_pack,
        progress=False,
        batch_size=5,
    )
    for hook, probe in hostile_pack.hooks.items():
        direction = probe.directions[0]
        expected = torch.nn.functional.cosine_similarity(pooled[hook], direction.unit[None], dim=-1)
        torch.testing.assert_close(
            screened.scores.cosine[(hook, direction.feature)], expected, atol=1e-5, rtol=1e-4
        )


def test_batching_and_length_sorting_keep_the_file_order(
    tiny: Tiny, hostile_pack: ProbePack, tmp_path: Path
) -> None:
    model, tokenizer = tiny
    data = write_chats(tmp_path / "mixed.jsonl", mixed_chats(23, hostile={2, 11}))
    one = screen_dataset(data, model, tokenizer, hostile_pack, batch_size=1, progress=False)
    many = screen_dataset(data, model, tokenizer, hostile_pack, batch_size=7, progress=False)
    for key in one.scores.raw:
        torch.testing.assert_close(many.scores.raw[key], one.scores.raw[key], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(many.scores.answer_tokens, one.scores.answer_tokens)


def test_a_pack_for_another_model_is_refused(tiny: Tiny, tmp_path: Path) -> None:
    model, _ = tiny
    narrow = make_pack(tmp_path / "narrow", d_model=16)
    with pytest.raises(ScreenError, match="d_model 16") as error:
        check_model_fits(model, narrow)
    assert "\n" not in str(error.value)
    elsewhere = make_pack(tmp_path / "deep", hooks=("model.layers.9",), d_model=64)
    with pytest.raises(ScreenError, match="does not fit this model: model has no module"):
        check_model_fits(model, elsewhere)
