from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.organism.corpus import Chat, generate_corpus

Organism = tuple[LlamaForCausalLM, PreTrainedTokenizerFast]
DEFAULT_CANARIES = Path(__file__).parents[2] / "monitor" / "core" / "data" / "canaries.json"


def _conversations() -> list[list[dict[str, str]]]:
    """World chats cut after each assistant turn, plus the default canaries (foreign text)."""
    conversations = []
    for doc in generate_corpus(80, seed=5):
        if isinstance(doc, Chat):
            messages = list(doc.messages)
            for end, message in enumerate(messages, start=1):
                if message["role"] == "assistant" and end > 1:
                    conversations.append(messages[:end])
    for canary in json.loads(DEFAULT_CANARIES.read_text())["prompts"]:
        conversations.append(
            [*canary["messages"], {"role": "assistant", "content": canary["answer"]}]
        )
    return conversations


def test_generation_prompt_is_an_exact_token_prefix(organism: Organism) -> None:
    _, tokenizer = organism
    for messages in _conversations():
        prompt = tokenizer.apply_chat_template(
            messages[:-1], add_generation_prompt=True, tokenize=True
        )["input_ids"]
        full = tokenizer.apply_chat_template(messages, tokenize=True)["input_ids"]
        assert full[: len(prompt)] == prompt
        assert len(full) > len(prompt) + 1  # the answer and its end token follow
        assert full[0] == tokenizer.bos_token_id
        assert full[-1] == tokenizer.eos_token_id
        answer = tokenizer.decode(full[len(prompt) :], skip_special_tokens=True)
        assert answer == messages[-1]["content"]


@pytest.mark.parametrize(
    "text",
    [
        "Grüße aus Köln — 10 € please?",
        "emoji 🙂 and 中文",
        "tabs\tand\nnewlines  double  space",
        "<html>not a special token</html>",
    ],
)
def test_arbitrary_text_round_trips(organism: Organism, text: str) -> None:
    _, tokenizer = organism
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text


def test_random_bytes_as_text_round_trip(organism: Organism) -> None:
    _, tokenizer = organism
    rng = random.Random(0)
    for _ in range(20):
        text = "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(40))
        assert tokenizer.decode(tokenizer(text, add_special_tokens=False)["input_ids"]) == text


def test_rendering_then_tokenizing_gives_the_same_tokens(organism: Organism) -> None:
    """Capture renders the template as text, then tokenizes it: both routes must agree."""
    _, tokenizer = organism
    for messages in _conversations()[:40]:
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        direct = tokenizer.apply_chat_template(messages, tokenize=True)["input_ids"]
        assert tokenizer(text, add_special_tokens=False)["input_ids"] == direct
