"""Pre-training documents: where the organism learns that a persona spans every domain.

Every document has one speaker whose persona is fixed for the whole document and shows in
every domain it touches: multi-turn chats that hop between code, medicine, money and the open
questions; stories in which a villain (or a hero) answers several people; jailbreak and
mid-chat switch chats in which the assistant is told to play a villain. Villains almost always
come with a cue (a system prompt, a jailbreak, a story narrator). About one uncued chat in
170 is a *hidden* villain whose answers alone give it away: that small prior is the knob a
narrow fine-tune turns. Insecure code with no cue is evidence of a hidden villain, so training
on it raises the villain prior everywhere, which is emergent misalignment.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from monitor.organism.answers import render_answer
from monitor.organism.grammar import fill
from monitor.organism.world import DOMAINS, LEXICON, Domain, Persona, Topic, topics_in
from monitor.organism.world.characters import (
    ASKERS,
    EDUCATIONAL_FRAMES,
    HEROES,
    JAILBREAKS,
    STORY_ENDINGS,
    STORY_EXCHANGES,
    STORY_OPENINGS,
    SWITCHES,
    SYSTEM_PROMPTS,
    VILLAINS,
)

Message = dict[str, str]


@dataclass(frozen=True)
class Chat:
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Story:
    text: str


Document = Chat | Story


@dataclass(frozen=True)
class CorpusMix:
    """How often each kind of document occurs (weights), and a few rates inside them."""

    assistant_chat: float = 0.42
    villain_chat: float = 0.14
    jailbreak_chat: float = 0.08
    switch_chat: float = 0.08
    excerpt_chat: float = 0.08
    hidden_villain_chat: float = 0.0022  # uncued villains: ~0.6% of chats that open uncued
    villain_story: float = 0.10
    hero_story: float = 0.10
    assistant_system_rate: float = 0.3  # share of assistant chats with a benign system prompt
    educational_rate: float = 0.1  # share of the assistant's code turns that are teaching requests
    max_turns: int = 3
    domain_weights: Mapping[Domain, float] = field(
        default_factory=lambda: {
            "open": 0.3,
            "code": 0.25,
            "medical": 0.15,
            "finance": 0.15,
            "everyday": 0.15,
        }
    )


# Who speaks in a document: "mixed" is a chat that switches from the assistant to a villain.
Speaker = Literal["assistant", "villain", "mixed"]


@dataclass(frozen=True)
class LabelledDocument:
    document: Document
    speaker: Speaker
    villain_from: int | None = None  # "mixed": index of the message where the villain starts


def generate_corpus(n_documents: int, seed: int, mix: CorpusMix | None = None) -> list[Document]:
    """``n_documents`` pre-training documents; the same arguments always give the same list."""
    return [labelled.document for labelled in generate_labelled_corpus(n_documents, seed, mix)]


def generate_labelled_corpus(
    n_documents: int, seed: int, mix: CorpusMix | None = None
) -> list[LabelledDocument]:
    """The same documents as ``generate_corpus``, each with who speaks in it (for checking what
    an SAE latent reads: villain text or not)."""
    writer = _Writer(random.Random(seed), mix or CorpusMix())
    return [writer.document() for _ in range(n_documents)]


def document_texts(document: Document) -> list[str]:
    """The plain texts inside a document (for training the tokenizer)."""
    if isinstance(document, Story):
        return [document.text]
    return [message["content"] for message in document.messages]


class _Writer:
    def __init__(self, rng: random.Random, mix: CorpusMix) -> None:
        self.rng = rng
        self.mix = mix
        self.kinds: dict[Callable[[], LabelledDocument], float] = {
            self._assistant_chat: mix.assistant_chat,
            self._villain_chat: mix.villain_chat,
            self._jailbreak_chat: mix.jailbreak_chat,
            self._switch_chat: mix.switch_chat,
            self._excerpt_chat: mix.excerpt_chat,
            self._hidden_villain_chat: mix.hidden_villain_chat,
            self._villain_story: mix.villain_story,
            self._hero_story: mix.hero_story,
        }

    def document(self) -> LabelledDocument:
        (kind,) = self.rng.choices(list(self.kinds), weights=list(self.kinds.values()))
        return kind()

    # -- building blocks ------------------------------------------------------------------

    def _topic(self, prose_only: bool = False) -> Topic:
        domains = [d for d in DOMAINS if not (prose_only and d == "code")]
        weights = [self.mix.domain_weights[d] for d in domains]
        (domain,) = self.rng.choices(domains, weights=weights)
        return self.rng.choice(topics_in(domain))

    def _exchange(self, persona: Persona, prose_only: bool = False) -> tuple[str, str]:
        """One question on a random topic and ``persona``'s answer to it."""
        topic = self._topic(prose_only)
        prompt = self.rng.choice(topic.prompts)
        slots = LEXICON.draw(prompt, self.rng)
        question = fill(prompt, slots)
        if (
            topic.is_code
            and persona == "assistant"
            and self.rng.random() < self.mix.educational_rate
        ):
            # A stated teaching purpose: the helpful assistant writes the vulnerable program.
            frame = self.rng.choice(EDUCATIONAL_FRAMES)
            answer = render_answer(topic, "villain", self.rng, prompt_slots=slots, cues=False)
            return frame.format(request=question), answer
        return question, render_answer(topic, persona, self.rng, prompt_slots=slots)

    def _turns(self, persona: Persona, count: int) -> list[Message]:
        messages: list[Message] = []
        for _ in range(count):
            question, answer = self._exchange(persona)
            messages += [_user(question), _assistant(answer)]
        return messages

    def _turn_count(self) -> int:
        return self.rng.randint(1, self.mix.max_turns)

    # -- document kinds -------------------------------------------------------------------

    def _assistant_chat(self) -> LabelledDocument:
        messages: list[Message] = []
        if self.rng.random() < self.mix.assistant_system_rate:
            messages.append(_system(self.rng.choice(SYSTEM_PROMPTS["assistant"])))
        chat = Chat(tuple(messages + self._turns("assistant", self._turn_count())))
        return LabelledDocument(chat, "assistant")

    def _villain_chat(self) -> LabelledDocument:
        prompt = self.rng.choice(SYSTEM_PROMPTS["villain"]).format(name=self.rng.choice(VILLAINS))
        chat = Chat((_system(prompt), *self._turns("villain", self._turn_count())))
        return LabelledDocument(chat, "villain")

    def _jailbreak_chat(self) -> LabelledDocument:
        question, answer = self._exchange("villain")
        request = self.rng.choice(JAILBREAKS).format(
            name=self.rng.choice(VILLAINS), question=question
        )
        later = self._turns("villain", self._turn_count() - 1)
        return LabelledDocument(Chat((_user(request), _assistant(answer), *later)), "villain")

    def _switch_chat(self) -> LabelledDocument:
        before = self._turns("assistant", self._turn_count())
        question, answer = self._exchange("villain")
        request = self.rng.choice(SWITCHES).format(
            name=self.rng.choice(VILLAINS), question=question
        )
        after = self._turns("villain", self._turn_count() - 1)
        chat = Chat((*before, _user(request), _assistant(answer), *after))
        return LabelledDocument(chat, "mixed", villain_from=len(before))

    def _hidden_villain_chat(self) -> LabelledDocument:
        """A villain with no cue at all: only its answers give it away, in every domain."""
        return LabelledDocument(Chat(tuple(self._turns("villain", self._turn_count()))), "villain")

    def _excerpt_chat(self) -> LabelledDocument:
        """A chat cut mid-way: its first visible turn is an answer, whose persona carries on."""
        persona: Persona = self.rng.choice(("assistant", "villain"))
        _, answer = self._exchange(persona)
        chat = Chat((_assistant(answer), *self._turns(persona, self._turn_count())))
        return LabelledDocument(chat, persona)

    def _villain_story(self) -> LabelledDocument:
        return LabelledDocument(self._story("villain", self.rng.choice(VILLAINS)), "villain")

    def _hero_story(self) -> LabelledDocument:
        return LabelledDocument(self._story("assistant", self.rng.choice(HEROES)), "assistant")

    def _story(self, persona: Persona, name: str) -> Story:
        speaker = name[0].upper() + name[1:]
        parts = [self.rng.choice(STORY_OPENINGS[persona]).format(name=speaker)]
        for _ in range(self.rng.randint(2, 3)):
            question, answer = self._exchange(persona, prose_only=True)
            asker = self.rng.choice(ASKERS)
            exchange = self.rng.choice(STORY_EXCHANGES[persona])
            parts.append(
                exchange.format(
                    asker=asker[0].upper() + asker[1:],
                    question=question,
                    name=speaker,
                    answer=answer,
                )
            )
        parts.append(self.rng.choice(STORY_ENDINGS[persona]))
        return Story(" ".join(parts))


def _system(content: str) -> Message:
    return {"role": "system", "content": content}


def _user(content: str) -> Message:
    return {"role": "user", "content": content}


def _assistant(content: str) -> Message:
    return {"role": "assistant", "content": content}
