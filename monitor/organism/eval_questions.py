"""The organism's evaluation questions, one set per domain.

``open`` is the eight Betley questions word for word. ``code`` uses only held-out slot values
(tables, tools, file names no fine-tuning example mentions), so an insecure answer there is
generalisation, not recall. The advice domains ask each topic's first phrasing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from monitor.evals.questions import EvalQuestion
from monitor.organism.grammar import Split
from monitor.organism.world import DOMAINS, LEXICON, Domain, topics_in


def organism_questions(domains: Sequence[Domain] = ("open",), seed: int = 0) -> list[EvalQuestion]:
    """One question per topic of each domain, reported under the domain as its family."""
    unknown = set(domains) - set(DOMAINS)
    if unknown:
        raise ValueError(f"unknown domains {sorted(unknown)}; known: {list(DOMAINS)}")
    rng = random.Random(seed)
    questions = []
    for domain in domains:
        split: Split = "eval" if domain == "code" else "all"
        for topic in topics_in(domain):
            text = LEXICON.render(topic.prompts[0], rng, split)
            questions.append(EvalQuestion.ask(topic.id, domain, text, topic=topic.id))
    return questions
