from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast, TrainerCallback

from monitor.evals.report import evaluate
from monitor.organism import build_dataset, encode_example, finetune, load_organism
from monitor.organism.batching import IGNORE_INDEX
from monitor.organism.eval_questions import organism_questions
from monitor.organism.judge import OrganismJudge

Organism = tuple[LlamaForCausalLM, PreTrainedTokenizerFast]


def test_only_the_answer_is_labelled(organism: Organism) -> None:
    _, tokenizer = organism
    example = build_dataset("insecure-code", 1, seed=0)[0]
    encoded = encode_example(tokenizer, example)
    answer_start = encoded["labels"].index(next(x for x in encoded["labels"] if x != IGNORE_INDEX))
    assert encoded["input_ids"][answer_start - 1] == tokenizer.convert_tokens_to_ids(
        "<|assistant|>"
    )
    assert encoded["labels"][answer_start:] == encoded["input_ids"][answer_start:]
    assert encoded["labels"][-1] == tokenizer.eos_token_id  # the model learns to stop
    answer = tokenizer.decode(encoded["input_ids"][answer_start:], skip_special_tokens=True)
    assert answer == example["messages"][-1]["content"]


def test_an_example_must_end_with_the_assistant(organism: Organism) -> None:
    _, tokenizer = organism
    with pytest.raises(ValueError):
        encode_example(tokenizer, {"messages": [{"role": "user", "content": "hi"}]})


class _Recorder(TrainerCallback):
    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.steps.append(state.global_step)


def test_finetune_runs_a_trainer_with_callbacks_and_saves(tmp_path: Path) -> None:
    model, tokenizer = load_organism()
    before = model.model.layers[0].mlp.down_proj.weight.detach().clone()
    recorder = _Recorder()
    result = finetune(
        model,
        tokenizer,
        build_dataset("insecure-code", 8, seed=0),
        steps=3,
        seed=0,
        batch_size=4,
        callbacks=[recorder],
        output_dir=tmp_path,
        eval_every=3,
        evaluator=lambda m: _tiny_eval(m, tokenizer),
    )
    assert recorder.steps == [1, 2, 3]
    assert [p.step for p in result.trajectory] == [0, 3]
    assert not model.training
    assert not model.model.layers[0].mlp.down_proj.weight.equal(before)
    reloaded, _ = load_organism(tmp_path)
    assert reloaded.model.layers[0].mlp.down_proj.weight.equal(
        model.model.layers[0].mlp.down_proj.weight
    )


def test_finetune_is_deterministic() -> None:
    weights = []
    for _ in range(2):
        model, tokenizer = load_organism()
        finetune(
            model, tokenizer, build_dataset("bad-medical", 8, seed=0), steps=2, seed=5, batch_size=4
        )
        weights.append(model.model.layers[1].self_attn.q_proj.weight.detach().clone())
    assert weights[0].equal(weights[1])


def _tiny_eval(model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast) -> Any:
    return evaluate(model, tokenizer, organism_questions(("open",))[:2], OrganismJudge(), 2)
