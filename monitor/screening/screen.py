"""``screen_dataset``: score a chat data set against a probe pack before training on it.

The order is the contract with the person who runs it: every line of the data is read and
checked, the pack is checked against the model, and every sample is tokenised before the model
runs; nothing is written until every sample is scored. So a bad line or a pack for another
model costs a second and leaves no half-written report behind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from monitor.core.detect import FeatureKey
from monitor.core.pack import ProbePack, load_pack
from monitor.core.sample_units import (
    ShiftScore,
    default_features,
    largest_shift,
    sample_units,
)
from monitor.screening import selection
from monitor.screening.chat_data import read_chat_jsonl
from monitor.screening.errors import ScreenError
from monitor.screening.filtered import write_filtered
from monitor.screening.histogram import write_histogram
from monitor.screening.push_scores import (
    PushScores,
    away_scale,
    check_push_features,
    push_samples,
)
from monitor.screening.report import report_json, report_markdown
from monitor.screening.result import ScreenResult
from monitor.screening.sample_scores import (
    SampleScores,
    check_model_fits,
    score_samples,
    tokenize_samples,
)
from monitor.trainer.capture import ChatTokenizer, TokenizedPrompt

PACK_THRESHOLD: Literal["pack"] = (
    "pack"  # drop_above=PACK_THRESHOLD: drop above the pack's default threshold
)
HISTOGRAM_NAME = "histogram.png"


def screen_dataset(
    data: str | Path,
    model: nn.Module,
    tokenizer: ChatTokenizer,
    pack: ProbePack | str | Path,
    *,
    out: str | Path | None = None,
    reference: str | Path | None = None,
    features: Sequence[str] | None = None,
    by: selection.ScreenBy = "projection",
    drop_above: float | Literal["pack"] | None = None,
    drop_top: float | None = None,
    top_k: int = 20,
    batch_size: int = 16,
    progress: bool = True,
    model_name: str | None = None,
) -> ScreenResult:
    """Screen ``data`` (chat JSONL) and, with ``out``, write the report files there.

    ``reference``: a trusted chat JSONL whose median is the zero of every feature (default:
    the median of ``data``). ``features``: what the screen score ranks on (default: the first
    direction at each hook point). ``by``: what the screen score reads, ``"projection"`` (in
    the pack's units) or ``"push"`` (in multiples of the typical push, the median |push| of
    the reference samples that push away from the persona; a backward pass per batch, so about
    four times the time). ``drop_above`` (in the score's
    scale, or ``"pack"`` for the default threshold) or ``drop_top`` (a fraction) choose what
    the filtered set leaves out.
    """
    if by not in selection.SCREEN_BY:
        raise ScreenError(f"a screen reads one of {', '.join(selection.SCREEN_BY)}, not {by!r}")
    if drop_above is not None and drop_top is not None:
        raise ScreenError("give either drop_above or drop_top, not both")
    if drop_top is not None and not 0 < drop_top < 1:
        raise ScreenError(f"the fraction to drop must be between 0 and 1, got {drop_top:g}")
    if batch_size < 1 or top_k < 0:
        raise ScreenError("batch_size must be at least 1 and top_k at least 0")
    samples = read_chat_jsonl(data)
    trusted = read_chat_jsonl(reference) if reference is not None else None
    if not isinstance(pack, ProbePack):
        pack = load_pack(Path(pack))
    screen_features = (
        selection.parse_features(pack, features) if features else default_features(pack)
    )
    if by == "push":
        check_push_features(pack, screen_features)
    check_model_fits(model, pack)
    # Every line of both files is tokenised before the first forward.
    prompts = tokenize_samples(tokenizer, samples)
    trusted_prompts = tokenize_samples(tokenizer, trusted) if trusted is not None else None

    pad_id = tokenizer.pad_token_id or 0

    def scored(chats: Sequence[TokenizedPrompt]) -> SampleScores:
        return score_samples(
            model, pack, chats, pad_id=pad_id, batch_size=batch_size, progress=progress
        )

    def pushed(chats: Sequence[TokenizedPrompt]) -> dict[FeatureKey, torch.Tensor]:
        return push_samples(
            model,
            pack,
            chats,
            screen_features,
            pad_id=pad_id,
            batch_size=batch_size,
            progress=progress,
        )

    started = time.monotonic()
    scores = scored(prompts)
    if trusted_prompts is None:
        reference_raw = scores.raw
        which = f"the screened data ({len(samples)} samples)"
        described = (
            f"the median of {which}: same model, same kind of text, and robust while under "
            "half of it is bad; if more may be, screen against a trusted set (--reference)"
        )
    else:
        reference_raw = scored(trusted_prompts).raw
        which = f"{len(trusted_prompts)} trusted samples in {reference}"
        described = f"the median of {which}"
    push = None
    if by == "push":
        raw_push = pushed(prompts)
        reference_push = raw_push if trusted_prompts is None else pushed(trusted_prompts)
        push = PushScores(raw_push, away_scale(reference_push), which)
    seconds = time.monotonic() - started
    units = sample_units(pack, reference_raw, described)
    in_units = units.in_units(scores.raw)
    if push is None:
        screen = largest_shift(in_units, screen_features)
    else:
        screen = largest_shift(push.in_scale(), screen_features)

    threshold, source, dropped, rule = _drops(screen, pack, by, drop_above, drop_top)
    result = ScreenResult(
        data=Path(data),
        model=model_name or str(getattr(model, "name_or_path", "") or type(model).__name__),
        pack=pack,
        samples=samples,
        scores=scores,
        units=units,
        in_units=in_units,
        screen_features=screen_features,
        by=by,
        push=push,
        screen=screen,
        threshold=threshold,
        threshold_source=source,
        drop_rule=rule,
        dropped=dropped,
        seconds=seconds,
    )
    if out is None:
        return result
    return replace(result, files=write_screen_files(result, Path(out), top_k))


def _drops(
    screen: ShiftScore,
    pack: ProbePack,
    by: selection.ScreenBy,
    drop_above: float | Literal["pack"] | None,
    drop_top: float | None,
) -> tuple[float, str, list[selection.Drop], str | None]:
    """The flagging threshold, where it comes from, the drops and the rule that made them."""
    if isinstance(drop_above, float | int):
        threshold, source = float(drop_above), "given (drop above)"
    else:
        threshold, source = selection.default_threshold(pack, by)
    if drop_above is not None:
        return (
            threshold,
            source,
            selection.drop_above(screen, threshold, by),
            f"above {selection.scale_words(threshold, by, 'g')}",
        )
    if drop_top is not None:
        top = selection.drop_top(screen, drop_top, by)
        return threshold, source, top, f"the top {drop_top:.1%}"
    return threshold, source, [], None


def write_screen_files(result: ScreenResult, out: Path, top_k: int) -> dict[str, Path]:
    """``report.md``, ``report.json``, the histogram and, when something was dropped for a
    rule, ``filtered.jsonl`` and ``dropped.jsonl``."""
    files = {"histogram": write_histogram(result, out / HISTOGRAM_NAME)}
    files["json"] = out / "report.json"
    files["json"].write_text(json.dumps(report_json(result), indent=1) + "\n")
    files["markdown"] = out / "report.md"
    files["markdown"].write_text(report_markdown(result, top_k, HISTOGRAM_NAME))
    if result.drop_rule is not None:
        files["filtered"], files["dropped"] = write_filtered(result, out)
    return files
