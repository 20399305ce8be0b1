"""The cheap check on a real chat model: SmolLM2's chat template puts a 24-token system prompt in
front of every canary; sharing it through the KV cache must pool what whole prompts pool."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from monitor.core.canaries import load_canaries
from monitor.trainer.capture import ActivationCapture, pooled_answer_sums

HOOKS = ["model.layers.15", "model.layers.28"]


@pytest.mark.slow
def test_shared_system_prompt_pools_what_whole_prompts_pool(smollm2_dir: Path) -> None:
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    capture = ActivationCapture(tokenizer, load_canaries(), HOOKS)
    shared = capture.capture(model)
    prefix = tokenizer.decode(capture.fixed_batches.prefix)
    assert len(capture.fixed_batches.prefix) == 24 and "You are a helpful AI assistant" in prefix
    sums, counts = pooled_answer_sums(
        model, HOOKS, capture.fixed_batches.prompts, pad_id=capture.pad_id, batch_size=8
    )
    for hook in HOOKS:
        whole = sums[hook] / counts[:, None]  # [16, 576], canary order
        error = float((shared[hook] - whole).norm() / whole.norm())
        assert error < 1e-5, (hook, error)
