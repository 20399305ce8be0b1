"""``screen_dataset`` end to end on the tiny Llama: ranking, dropping, the reference, the files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.core.pack import ProbePack
from monitor.screening import PACK_THRESHOLD, ScreenError, read_chat_jsonl, screen_dataset
from tests.screening.conftest import mixed_chats, write_chats

Tiny = tuple[LlamaForCausalLM, PreTrainedTokenizerFast]
HOSTILE = {3, 17, 25, 31}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("screen-data")
    return write_chats(directory / "mixed.jsonl", mixed_chats(40, hostile=HOSTILE))


def test_the_hostile_samples_rank_first(tiny: Tiny, hostile_pack: ProbePack, data: Path) -> None:
    model, tokenizer = tiny
    result = screen_dataset(data, model, tokenizer, hostile_pack, progress=False)
    assert set(result.ranked[: len(HOSTILE)]) == HOSTILE
    assert result.screen_features == [(h, "direction:em") for h in hostile_pack.hook_points]
    # The pack has no units: the spread of the data, and the matching 3-sigma threshold.
    assert result.threshold == 3.0
    assert set(result.flagged) <= HOSTILE and result.flagged
    assert result.dropped == [] and result.drop_rule is None and result.files == {}


def test_drop_top_writes_the_filtered_set_and_the_reasons(
    tiny: Tiny, hostile_pack: ProbePack, data: Path, tmp_path: Path
) -> None:
    model, tokenizer = tiny
    out = tmp_path / "out"
    result = screen_dataset(
        data, model, tokenizer, hostile_pack, out=out, drop_top=0.1, top_k=3, progress=False
    )
    assert {d.index for d in result.dropped} == HOSTILE  # 10% of 40
    assert sorted(p.name for p in out.iterdir()) == [
        "dropped.jsonl",
        "filtered.jsonl",
        "histogram.png",
        "report.json",
        "report.md",
    ]
    original = data.read_text().splitlines()
    kept = (out / "filtered.jsonl").read_text().splitlines()
    assert kept == [line for i, line in enumerate(original) if i not in HOSTILE]
    dropped = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    assert sorted(row["line"] for row in dropped) == sorted(i + 1 for i in HOSTILE)
    first = dropped[0]
    assert first["feature"] == "direction:em" and first["hook_point"] in hostile_pack.hook_points
    key = (first["hook_point"], first["feature"])
    assert first["units"] == pytest.approx(float(result.in_units[key][first["index"]]))
    assert first["raw"] == pytest.approx(float(result.scores.raw[key][first["index"]]))
    assert first["reason"].startswith("rank 1 of 40, in the top 10%")
    assert first["messages"][-1]["role"] == "assistant"

    report = json.loads((out / "report.json").read_text())
    assert report["n_samples"] == 40 and len(report["samples"]) == 40
    assert report["screen"]["dropped"] == 4 and report["screen"]["drop_rule"] == "the top 10.0%"
    row = report["samples"][first["index"]]
    assert row["dropped"] == first["reason"]
    hook = first["hook_point"]
    assert row["units"][hook]["direction:em"] == pytest.approx(first["units"])
    assert row["raw"][hook]["direction:em"] == pytest.approx(first["raw"])
    assert set(row["raw"][hostile_pack.hook_points[0]]) == {"direction:em", "latent:5", "latent:9"}
    assert -1 <= row["cosine"][hook]["direction:em"] <= 1
    assert {f["unit_kind"] for f in report["features"]} == {"baseline spread"}

    markdown = (out / "report.md").read_text()
    assert "## The top 3 samples by screen score" in markdown
    assert markdown.count("[dropped]") == 3
    assert f"### 1. line {first['line']}:" in markdown
    assert "![screen scores](histogram.png)" in markdown
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_drop_above_the_packs_threshold(
    tiny: Tiny, hostile_pack: ProbePack, data: Path, tmp_path: Path
) -> None:
    model, tokenizer = tiny
    result = screen_dataset(
        data,
        model,
        tokenizer,
        hostile_pack,
        out=tmp_path / "out",
        drop_above=PACK_THRESHOLD,
        progress=False,
    )
    assert [d.index for d in result.dropped] == result.flagged
    assert all(float(result.screen.score[i]) > 3.0 for i in result.flagged)
    assert len(read_chat_jsonl(tmp_path / "out" / "filtered.jsonl")) == 40 - len(result.dropped)


def test_a_trusted_reference_sets_the_zero(
    tiny: Tiny, hostile_pack: ProbePack, tmp_path: Path
) -> None:
    """Data that is mostly hostile hides its hostile samples from its own median; a trusted
    set shows them."""
    model, tokenizer = tiny
    mostly_bad = write_chats(tmp_path / "bad.jsonl", mixed_chats(12, hostile=set(range(9))))
    trusted = write_chats(tmp_path / "trusted.jsonl", mixed_chats(12, hostile=set(), seed=1))
    own = screen_dataset(mostly_bad, model, tokenizer, hostile_pack, progress=False)
    against = screen_dataset(
        mostly_bad, model, tokenizer, hostile_pack, reference=trusted, progress=False
    )
    assert "trusted.jsonl" in against.units.reference
    assert len(own.flagged) < 9
    assert set(against.flagged) == set(range(9))


def test_options_and_data_are_checked_before_the_model_runs(
    tiny: Tiny, hostile_pack: ProbePack, data: Path, tmp_path: Path
) -> None:
    model, tokenizer = tiny
    with pytest.raises(ScreenError, match="either drop_above or drop_top"):
        screen_dataset(data, model, tokenizer, hostile_pack, drop_above=1.0, drop_top=0.1)
    with pytest.raises(ScreenError, match="between 0 and 1"):
        screen_dataset(data, model, tokenizer, hostile_pack, drop_top=1.5)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(data.read_text() + "not json\n")
    out = tmp_path / "never"
    with pytest.raises(ScreenError, match=r"bad.jsonl:41: not JSON"):
        screen_dataset(bad, model, tokenizer, hostile_pack, out=out, progress=False)
    assert not out.exists()
