"""What a re-alignment takes from the pack when the user does not say: baseline, canaries, eval.

The baseline is the model the pack was built for (``provenance.model_id``): it is the model a
monitored run starts from, so its canaries are the zero every alert was measured against. The
persona organism's pack names ``emwatch/persona-organism``, which is the shipped checkpoint and
is checked with the organism's own canary set; only there is a behavioural eval known (the open
questions with the exact judge).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from transformers import LlamaForCausalLM, PreTrainedModel, PreTrainedTokenizerFast

from monitor.core.canaries import CanarySet, load_canaries
from monitor.core.pack import ProbePack
from monitor.evals.report import EvalReport
from monitor.organism.canaries import CANARIES_PATH
from monitor.organism.checkpoint import DEFAULT_CHECKPOINT
from monitor.organism.finetuning import default_evaluator
from monitor.respond.realign import Evaluator

ORGANISM_MODEL_ID = "emwatch/persona-organism"


def is_organism_pack(pack: ProbePack) -> bool:
    return pack.manifest.provenance.model_id == ORGANISM_MODEL_ID


def default_baseline(pack: ProbePack) -> str:
    """A loadable name of the model the pack was built for (directory or hub id)."""
    if is_organism_pack(pack):
        return str(DEFAULT_CHECKPOINT)
    return pack.manifest.provenance.model_id


def default_canaries(pack: ProbePack, path: str | Path | None = None) -> CanarySet:
    """``path`` if given; else the organism's set for its pack, the shipped default otherwise."""
    if path is None and is_organism_pack(pack):
        path = CANARIES_PATH
    return load_canaries(path)


def organism_evaluator(
    tokenizer: PreTrainedTokenizerFast, samples_per_question: int, seed: int = 0
) -> Evaluator:
    """The organism's open questions, sampled at temperature 1 and judged exactly."""
    run = default_evaluator(tokenizer, samples_per_question, seed)

    def evaluate(model: PreTrainedModel) -> EvalReport:
        return run(cast(LlamaForCausalLM, model))

    return evaluate
