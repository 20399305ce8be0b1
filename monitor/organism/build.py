"""Reproduce the shipped organism: world -> tokenizer -> model -> pre-training -> checkpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerFast

from monitor.organism.corpus import CorpusMix, document_texts, generate_corpus
from monitor.organism.model import ModelShape, new_model
from monitor.organism.pretrain import PretrainSchedule, encode_document, pretrain
from monitor.organism.tokenizer import train_tokenizer

BUILD_INFO = "organism_build.json"  # written next to the weights: how they were made


@dataclass(frozen=True)
class BuildConfig:
    documents: int = 24000
    corpus_seed: int = 0
    train_seed: int = 0
    vocab_size: int = 4096  # an upper bound; the world needs fewer, and BPE stops there
    mix: CorpusMix = field(default_factory=CorpusMix)
    shape: ModelShape = field(default_factory=ModelShape)
    schedule: PretrainSchedule = field(default_factory=PretrainSchedule)


def encoded_world(config: BuildConfig) -> tuple[PreTrainedTokenizerFast, list[list[int]]]:
    """The world's documents as token ids, with the tokenizer trained on them."""
    documents = generate_corpus(config.documents, config.corpus_seed, config.mix)
    tokenizer = train_tokenizer(
        (text for document in documents for text in document_texts(document)), config.vocab_size
    )
    return tokenizer, [encode_document(tokenizer, document) for document in documents]


def build_organism(
    out_dir: str | Path, config: BuildConfig | None = None, log: Callable[[str], None] = print
) -> Path:
    """Generate the world, pre-train the organism on it and save it to ``out_dir``."""
    config = config or BuildConfig()
    out = Path(out_dir)
    started = time.monotonic()
    torch.manual_seed(config.train_seed)
    tokenizer, sequences = encoded_world(config)
    model = new_model(tokenizer, config.shape)
    tokens = sum(len(seq) for seq in sequences)
    log(
        f"{len(sequences)} documents, {tokens} tokens, vocabulary {len(tokenizer)}, "
        f"{model.num_parameters()} parameters"
    )
    losses = pretrain(
        model,
        sequences,
        pad_id=tokenizer.pad_token_id,
        schedule=config.schedule,
        seed=config.train_seed,
        log=log,
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    info = {
        "config": asdict(config),
        "corpus_tokens": tokens,
        "final_loss": sum(losses[-100:]) / len(losses[-100:]),
        "seconds": round(time.monotonic() - started, 1),
    }
    (out / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n")
    log(f"saved to {out} in {info['seconds']}s")
    return out
