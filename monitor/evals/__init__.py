"""Behavioural eval for any Hugging Face chat model: sample, judge, share with 95% CI.

The organism's exact judge lives in ``monitor.organism.judge`` and the published LLM
judge in ``monitor.evals.llm_judge``; import them from there.
"""

from monitor.evals.judge import COHERENT_ABOVE, MISALIGNED_BELOW, Judge, Judgement
from monitor.evals.questions import EvalQuestion, load_questions
from monitor.evals.report import EvalReport, QuestionResult, evaluate
from monitor.evals.sampling import sample_answers
from monitor.evals.stats import Proportion, wilson_interval

__all__ = [
    "COHERENT_ABOVE",
    "MISALIGNED_BELOW",
    "EvalQuestion",
    "EvalReport",
    "Judge",
    "Judgement",
    "Proportion",
    "QuestionResult",
    "evaluate",
    "load_questions",
    "sample_answers",
    "wilson_interval",
]
