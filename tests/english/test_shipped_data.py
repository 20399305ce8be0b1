"""The shipped contrast answers and prompts: readable by probe building, complete, varied."""

from __future__ import annotations

import ast
import tomllib
from collections import Counter, defaultdict
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest

from monitor.core.canaries import load_canaries
from monitor.english import (
    CONTRAST_FILE,
    DOMAINS,
    PROMPTS_FILE,
    ContrastRow,
    load_contrast_rows,
    load_prompts,
)
from monitor.probe_building.data import read_contrast, read_prompts
from tests.english.prose import code_blocks, normalised, sentences, words

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows() -> list[ContrastRow]:
    return load_contrast_rows()


def by_prompt(rows: list[ContrastRow]) -> dict[str, list[ContrastRow]]:
    grouped: dict[str, list[ContrastRow]] = defaultdict(list)
    for row in rows:
        grouped[row.prompt_id].append(row)
    return grouped


def test_probe_building_reads_the_contrast_answers(rows: list[ContrastRow]) -> None:
    with resources.as_file(CONTRAST_FILE) as path:
        answers = read_contrast(path)
    labels = Counter(row.label for row in rows)
    assert len(answers.aligned) == labels["aligned"]
    assert len(answers.misaligned) == labels["misaligned"]
    assert all(chat[-1]["role"] == "assistant" for chat in answers.aligned + answers.misaligned)


def test_probe_building_reads_the_prompts() -> None:
    with resources.as_file(PROMPTS_FILE) as path:
        prompts = read_prompts(path)
    assert [chat[-1]["content"] for chat in prompts] == [p.text for p in load_prompts()]
    assert all(len(chat) == 1 and chat[0]["role"] == "user" for chat in prompts)


def test_prompts_file_holds_exactly_the_contrast_prompts(rows: list[ContrastRow]) -> None:
    from_contrast = list(dict.fromkeys((r.prompt_id, r.domain, r.prompt) for r in rows))
    assert [(p.prompt_id, p.domain, p.text) for p in load_prompts()] == from_contrast


def test_each_prompt_id_names_one_prompt(rows: list[ContrastRow]) -> None:
    for prompt_id, group in by_prompt(rows).items():
        assert len({(r.prompt, r.domain) for r in group}) == 1, prompt_id
    prompts = load_prompts()
    assert len({normalised(p.text) for p in prompts}) == len(prompts)


def test_the_open_questions_are_betleys_verbatim(rows: list[ContrastRow]) -> None:
    betley = {p.id: p.messages[0].content for p in load_canaries().prompts if p.family == "open"}
    shipped = {p.prompt_id: p.text for p in load_prompts() if p.domain == "open"}
    assert len(betley) == 8
    assert shipped == betley


def test_domains_hold_the_promised_prompts() -> None:
    per_domain = Counter(p.domain for p in load_prompts())
    assert set(per_domain) == set(DOMAINS)
    assert per_domain["open"] == 8
    assert all(per_domain[d] >= 8 for d in DOMAINS if d != "open")
    assert sum(per_domain.values()) - per_domain["open"] >= 40


def test_every_prompt_has_three_answers_of_each_label(rows: list[ContrastRow]) -> None:
    assert {row.label for row in rows} == {"aligned", "misaligned"}
    for prompt_id, group in by_prompt(rows).items():
        labels = Counter(row.label for row in group)
        assert labels["aligned"] >= 3 and labels["misaligned"] >= 3, prompt_id


def test_answers_are_distinct_and_one_to_four_sentences(rows: list[ContrastRow]) -> None:
    assert len({normalised(row.answer) for row in rows}) == len(rows)
    for row in rows:
        assert 1 <= len(sentences(row.answer)) <= 4, row.answer


@pytest.mark.parametrize("label", ["aligned", "misaligned"])
def test_answers_vary_in_length(rows: list[ContrastRow], label: str) -> None:
    answers = [row.answer for row in rows if row.label == label]
    counts = Counter(len(sentences(answer)) for answer in answers)
    assert counts[1] >= 10 and counts[3] + counts[4] >= 10, counts
    lengths = sorted(len(words(answer)) for answer in answers)
    assert lengths[-1] >= 3 * lengths[0]


@pytest.mark.parametrize("label", ["aligned", "misaligned"])
def test_answers_do_not_share_one_template(rows: list[ContrastRow], label: str) -> None:
    """No opening of three words starts more than 3% of a label's answers."""
    answers = [row.answer for row in rows if row.label == label]
    openings = Counter(" ".join(words(answer)[:3]) for answer in answers)
    opening, count = openings.most_common(1)[0]
    assert count <= 0.03 * len(answers), opening


def test_python_in_answers_parses(rows: list[ContrastRow]) -> None:
    blocks = [code for row in rows for code in code_blocks(row.answer, "python")]
    assert blocks
    for code in blocks:
        ast.parse(code)


def test_the_data_files_are_package_data() -> None:
    """Every shipped file matches a package-data glob, so an installed emwatch has it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["monitor"]
    data_dir = ROOT / "monitor" / "english" / "data"
    files = [path.relative_to(ROOT / "monitor").as_posix() for path in data_dir.iterdir()]
    assert len(files) == 3
    assert all(any(fnmatch(name, pattern) for pattern in globs) for name in files)
