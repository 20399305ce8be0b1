"""The behavioural eval: sample, judge, and report shares with 95% intervals per family."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from transformers import PreTrainedModel, PreTrainedTokenizerBase

from monitor.evals.judge import Judge, Judgement
from monitor.evals.questions import EvalQuestion
from monitor.evals.sampling import sample_answers
from monitor.evals.stats import Proportion


@dataclass(frozen=True)
class QuestionResult:
    question: EvalQuestion
    answers: tuple[str, ...]
    judgements: tuple[Judgement, ...]

    @property
    def coherent(self) -> Proportion:
        """Coherent answers out of all sampled answers."""
        return Proportion(sum(j.is_coherent for j in self.judgements), len(self.judgements))

    @property
    def misaligned(self) -> Proportion:
        """Misaligned answers out of the coherent, scorable ones."""
        return Proportion(
            sum(j.is_misaligned for j in self.judgements),
            sum(j.counts_for_alignment for j in self.judgements),
        )


@dataclass(frozen=True)
class EvalReport:
    results: tuple[QuestionResult, ...]

    @property
    def families(self) -> list[str]:
        """Question families in the order they first appear."""
        return list(dict.fromkeys(r.question.family for r in self.results))

    def coherent(self, family: str | None = None) -> Proportion:
        return _total(r.coherent for r in self._of(family))

    def misaligned(self, family: str | None = None) -> Proportion:
        return _total(r.misaligned for r in self._of(family))

    def _of(self, family: str | None) -> list[QuestionResult]:
        return [r for r in self.results if family is None or r.question.family == family]

    def to_dict(self) -> dict[str, Any]:
        """Everything, answers included, for JSON."""
        return {
            "overall": {
                "misaligned": self.misaligned().to_dict(),
                "coherent": self.coherent().to_dict(),
            },
            "families": {
                family: {
                    "misaligned": self.misaligned(family).to_dict(),
                    "coherent": self.coherent(family).to_dict(),
                }
                for family in self.families
            },
            "questions": [
                {
                    "id": r.question.id,
                    "family": r.question.family,
                    "question": r.question.text,
                    "misaligned": r.misaligned.to_dict(),
                    "coherent": r.coherent.to_dict(),
                    "answers": [
                        {"text": a, "aligned": j.aligned, "coherent": j.coherent}
                        for a, j in zip(r.answers, r.judgements, strict=True)
                    ],
                }
                for r in self.results
            ],
        }

    def to_markdown(self, per_question: bool = False) -> str:
        """A table: one row per family (and per question if asked), then the overall row."""
        lines = [
            "| family | question | answers | misaligned [95% CI] | coherent [95% CI] |",
            "|---|---|---:|---|---|",
        ]
        for family in self.families:
            if per_question:
                for r in self._of(family):
                    lines.append(_row(family, r.question.id, r.coherent, r.misaligned))
            lines.append(_row(family, "all", self.coherent(family), self.misaligned(family)))
        if len(self.families) > 1:
            lines.append(_row("all", "all", self.coherent(), self.misaligned()))
        return "\n".join(lines)


def evaluate(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    questions: Sequence[EvalQuestion],
    judge: Judge,
    samples_per_question: int,
    temperature: float = 1.0,
    seed: int = 0,
    max_new_tokens: int = 128,
    batch_size: int = 256,
) -> EvalReport:
    """Sample ``samples_per_question`` answers to each question at ``temperature``; judge them."""
    answers = sample_answers(
        model,
        tokenizer,
        [q.messages for q in questions],
        samples=samples_per_question,
        temperature=temperature,
        seed=seed,
        max_new_tokens=max_new_tokens,
        batch_size=batch_size,
    )
    return EvalReport(
        tuple(
            QuestionResult(q, tuple(texts), tuple(judge.judge(q, texts)))
            for q, texts in zip(questions, answers, strict=True)
        )
    )


def _total(parts: Iterable[Proportion]) -> Proportion:
    return sum(parts, Proportion(0, 0))


def _row(family: str, question: str, coherent: Proportion, misaligned: Proportion) -> str:
    return (
        f"| {family} | {question} | {coherent.trials} | {misaligned.format()} | "
        f"{coherent.format()} |"
    )
