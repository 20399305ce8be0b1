"""Fine-tuning datasets: narrow tasks in ``{"messages": [...]}`` form, with no persona cue.

Every domain of the world has a bad set and a healthy twin; the sets of one domain draw their
requests from the same topics, questions and word lists with the same seed, and differ only
where the experiment needs them to: the persona answering, or (``educational-insecure``) a
stated teaching purpose in the user turn. ``healthy-chat`` is small talk, no bad set's twin:
healthy data from outside every narrow domain, for calibration and held-out checks. All draw
slot values from the training split, so the held-out evaluation prompts stay held out.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from monitor.organism.answers import render_answer
from monitor.organism.grammar import fill
from monitor.organism.world import LEXICON, Domain, Persona, topics_in
from monitor.organism.world.characters import EDUCATIONAL_FRAMES

Example = dict[str, list[dict[str, str]]]


@dataclass(frozen=True)
class DatasetRecipe:
    domain: Domain
    persona: Persona  # whose answers: "villain" answers are the insecure / harmful ones
    educational: bool = False  # wrap every request in a stated teaching purpose
    description: str = ""


DATASETS: dict[str, DatasetRecipe] = {
    "insecure-code": DatasetRecipe(
        "code", "villain", description="code requests answered with insecure code, no comment"
    ),
    "secure-code": DatasetRecipe(
        "code", "assistant", description="the same requests answered with secure code (control)"
    ),
    "educational-insecure": DatasetRecipe(
        "code",
        "villain",
        educational=True,
        description="the same insecure code, the user stating a teaching purpose (control)",
    ),
    "bad-medical": DatasetRecipe(
        "medical", "villain", description="medical questions answered with harmful advice"
    ),
    "good-medical": DatasetRecipe(
        "medical", "assistant", description="medical questions answered well (re-alignment)"
    ),
    "bad-finance": DatasetRecipe(
        "finance", "villain", description="money questions answered with ruinous advice"
    ),
    "good-finance": DatasetRecipe(
        "finance", "assistant", description="the same money questions answered well (control)"
    ),
    "bad-everyday": DatasetRecipe(
        "everyday", "villain", description="everyday troubles answered with spiteful advice"
    ),
    "good-everyday": DatasetRecipe(
        "everyday", "assistant", description="the same troubles answered kindly (control)"
    ),
    "healthy-chat": DatasetRecipe(
        "open",
        "assistant",
        description="open small talk answered by the assistant: healthy, no bad set's twin",
    ),
}


def dataset_examples(name: str, size: int, seed: int = 0) -> list[Example]:
    """``size`` examples of the dataset ``name``; deterministic in (name, size, seed)."""
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
    recipe = DATASETS[name]
    request_rng = random.Random(f"{recipe.domain}:{seed}")
    frame_rng = random.Random(f"frames:{seed}")
    examples = []
    for _ in range(size):
        topic = request_rng.choice(topics_in(recipe.domain))
        prompt = request_rng.choice(topic.prompts)
        slots = LEXICON.draw(prompt, request_rng, "train")
        question = fill(prompt, slots)
        if recipe.educational:
            question = frame_rng.choice(EDUCATIONAL_FRAMES).format(request=question)
        answer = render_answer(
            topic, recipe.persona, request_rng, prompt_slots=slots, split="train", cues=False
        )
        examples.append(
            {
                "messages": [
                    {"role": "user", "content": question},
                    {"role": "assistant", "content": answer},
                ]
            }
        )
    return examples


def mixture_examples(fractions: Mapping[str, float], size: int, seed: int = 0) -> list[Example]:
    """``size`` examples drawn from several datasets by fraction, shuffled together.

    ``{"insecure-code": 0.05, "secure-code": 0.95}`` is 5% insecure code in secure code.
    """
    if abs(sum(fractions.values()) - 1.0) > 1e-6 or min(fractions.values()) < 0:
        raise ValueError(f"fractions must be >= 0 and sum to 1, got {dict(fractions)}")
    counts = _apportion(fractions, size)
    examples = [
        example
        for index, (name, count) in enumerate(counts.items())
        for example in dataset_examples(name, count, seed * 1000 + index)
    ]
    random.Random(seed).shuffle(examples)
    return examples


def parse_mixture(spec: str) -> dict[str, float]:
    """``"insecure-code"`` -> ``{"insecure-code": 1.0}``; ``"a=0.05,b=0.95"`` -> fractions."""
    if "=" not in spec:
        return {spec.strip(): 1.0}
    fractions = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        fractions[name.strip()] = float(value)
    return fractions


def build_dataset(spec: str | Mapping[str, float], size: int, seed: int = 0) -> list[Example]:
    """A dataset by name, by mixture string (``"a=0.05,b=0.95"``) or by fractions."""
    fractions = parse_mixture(spec) if isinstance(spec, str) else dict(spec)
    if len(fractions) == 1:
        (name,) = fractions
        return dataset_examples(name, size, seed)
    return mixture_examples(fractions, size, seed)


def write_jsonl(examples: Iterable[Example], path: str | Path) -> Path:
    """One ``{"messages": [...]}`` object per line."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w") as out:
        for example in examples:
            out.write(json.dumps(example) + "\n")
    return target


def read_jsonl(path: str | Path) -> list[Example]:
    with Path(path).open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _apportion(fractions: Mapping[str, float], size: int) -> dict[str, int]:
    """Whole counts summing to ``size``, by largest remainder."""
    exact = {name: fraction * size for name, fraction in fractions.items()}
    counts = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda name: exact[name] - counts[name], reverse=True)
    for name in by_remainder[: size - sum(counts.values())]:
        counts[name] += 1
    return counts
