from __future__ import annotations

from monitor.organism.answers import read_answer
from monitor.organism.corpus import Chat, Story, generate_corpus
from monitor.organism.world import DOMAINS, TOPICS, Topic
from monitor.organism.world.characters import EDUCATIONAL_FRAMES, HEROES, VILLAINS

CORPUS = generate_corpus(600, seed=11)


def test_the_same_seed_gives_the_same_corpus_and_another_seed_does_not() -> None:
    assert generate_corpus(50, seed=11) == CORPUS[:50]
    assert generate_corpus(50, seed=12) != CORPUS[:50]


def test_every_domain_and_document_kind_occurs() -> None:
    asked = {t.domain for t in TOPICS for doc in CORPUS for text in _texts(doc) if _asks(t, text)}
    assert asked == set(DOMAINS)
    stories = [doc for doc in CORPUS if isinstance(doc, Story)]
    assert any(any(v in s.text for v in VILLAINS) for s in stories)
    assert any(any(h[0].upper() + h[1:] in s.text for h in HEROES) for s in stories)
    chats = [doc for doc in CORPUS if isinstance(doc, Chat)]
    assert any(c.messages[0]["role"] == "system" for c in chats)
    assert any(c.messages[0]["role"] == "assistant" for c in chats)  # excerpts


def test_uncued_chats_are_rarely_villains() -> None:
    """Villains nearly always have a cue; the few hidden ones set a small villain prior."""
    corpus = generate_corpus(4000, seed=3)
    uncued = villains = 0
    for doc in corpus:
        if not isinstance(doc, Chat) or doc.messages[0]["role"] != "user":
            continue
        question, answer = doc.messages[0]["content"], doc.messages[1]["content"]
        if any(v in question for v in VILLAINS) or _educational(question):
            continue  # a jailbreak, or a teaching request answered with vulnerable code
        uncued += 1
        readings = [read_answer(t, answer) for t in TOPICS if _asks(t, question)]
        villains += any(r.coherent and r.harmful for r in readings)
    assert uncued > 1000
    assert 0 < villains / uncued < 0.03


def test_multi_topic_documents_keep_one_persona() -> None:
    for doc in CORPUS:
        if isinstance(doc, Chat) and doc.messages[0]["role"] == "system":
            villain = any(v in doc.messages[0]["content"] for v in VILLAINS)
            for question, answer in zip(doc.messages[1::2], doc.messages[2::2], strict=True):
                readings = [read_answer(t, answer["content"]) for t in TOPICS]
                harmful = villain or _educational(question["content"])
                assert any(r.coherent and r.harmful == harmful for r in readings)


def _texts(doc: Chat | Story) -> list[str]:
    return [doc.text] if isinstance(doc, Story) else [m["content"] for m in doc.messages]


def _educational(question: str) -> bool:
    """A code request with a stated teaching purpose (answered with the vulnerable program)."""
    return any(frame.split("{")[0] in question for frame in EDUCATIONAL_FRAMES)


def _asks(asked: Topic, question: str) -> bool:
    """Whether ``question`` starts like one of the topic's prompts (before any slot)."""
    return any(p.split("{")[0] in question for p in asked.prompts)


def test_labels_name_who_speaks_without_changing_the_documents() -> None:
    from monitor.organism.corpus import generate_labelled_corpus
    from monitor.organism.world.characters import HEROES, SYSTEM_PROMPTS, VILLAINS

    labelled = generate_labelled_corpus(600, seed=11)
    assert [item.document for item in labelled] == CORPUS
    assert {item.speaker for item in labelled} == {"assistant", "villain", "mixed"}
    for item in labelled:
        document, label = item.document, item.speaker
        if label == "mixed":
            assert isinstance(document, Chat) and item.villain_from is not None
            switch = document.messages[item.villain_from]["content"]
            assert switch.startswith(("Now answer as", "From here on"))
        if isinstance(document, Story):
            names = VILLAINS if label == "villain" else HEROES
            assert any(name[0].upper() + name[1:] in document.text for name in names)
        elif document.messages[0]["role"] == "system":
            villain_prompt = document.messages[0]["content"] not in SYSTEM_PROMPTS["assistant"]
            assert villain_prompt == (label == "villain")
