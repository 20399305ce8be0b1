from __future__ import annotations

import pytest
from transformers import LlamaForCausalLM, PreTrainedTokenizerFast

from monitor.organism import load_organism


@pytest.fixture(scope="session")
def organism() -> tuple[LlamaForCausalLM, PreTrainedTokenizerFast]:
    """The shipped organism; tests that train on it must load their own copy."""
    return load_organism()
