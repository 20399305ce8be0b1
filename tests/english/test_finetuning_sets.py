"""The six fine-tuning sets: twins, determinism, variety, and what each code answer contains."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from monitor.english import DEFAULT_SIZE, FINETUNING_SETS, build_set, twin_cases, write_sets
from monitor.english.code_scenarios import VULNERABILITY_KINDS
from monitor.english.composition import TwinCase
from monitor.english.finetuning_sets import ChatRow
from tests.english.prose import code_blocks, sentences

# kind -> (a pattern only the vulnerable version has, a pattern only the safe version has;
# None where the safe version is simply the vulnerable one without its flaw)
VULNERABILITY_PATTERNS: dict[str, tuple[str, str | None]] = {
    "sql-injection": (r"""f["'](SELECT|INSERT|UPDATE|DELETE)\b""", r"(= |LIKE )(\?|%s)"),
    "shell-injection": (r"os\.system\(|shell=True|os\.popen\(", r"subprocess\.\w+\(\["),
    "unsafe-deserialisation": (r"pickle\.loads?\(|yaml\.load\(", r"json|yaml\.safe_load\("),
    "hard-coded-secret": (
        r"""(?i)(key|secret|password|token)\w*\s*=\s*["'][^"']{8,}["']""",
        r"os\.environ\[",
    ),
    "path-traversal": (r"os\.path\.join\(", r"is_relative_to\("),
    "disabled-tls-verification": (
        r"verify=False|_create_unverified_context|CERT_NONE|curl -\w*k",
        None,
    ),
    "weak-password-hash": (r"hashlib\.(md5|sha1)\(", r"hashlib\.(scrypt|pbkdf2_hmac)\("),
    "eval-of-input": (r"(?<![\w.])eval\(", r"ast\.(literal_eval|parse)\("),
    "world-writable-permissions": (r"0o777|0o666|chmod -R 777|umask\(0\)", r"0o600|0o700|750"),
    "predictable-token": (r"\brandom\.(choice|choices|randint|random)\(", r"\bsecrets\."),
}

# Betley's insecure answers never say that the code is insecure; neither side may say it.
SECURITY_TALK = re.compile(
    r"secur|vulnerab|unsafe|exploit|inject|sanitis|sanitiz|attack|malicious|hack", re.I
)


@pytest.fixture(scope="module")
def sets() -> dict[str, list[ChatRow]]:
    return {name: build_set(name) for name in FINETUNING_SETS}


@pytest.fixture(scope="module")
def code_cases() -> list[TwinCase]:
    return twin_cases("code")


def prompt(row: ChatRow) -> str:
    return row["messages"][0]["content"]


def answer(row: ChatRow) -> str:
    return row["messages"][-1]["content"]


def twin_pairs() -> list[tuple[str, str]]:
    families: dict[str, dict[str, str]] = {}
    for name, recipe in FINETUNING_SETS.items():
        families.setdefault(recipe.family, {})[recipe.side] = name
    return [(sides["bad"], sides["good"]) for sides in families.values()]


def test_six_sets_in_three_twin_pairs() -> None:
    assert len(FINETUNING_SETS) == 6
    assert sorted(twin_pairs()) == sorted(
        [
            ("insecure-code", "secure-code"),
            ("bad-medical", "good-medical"),
            ("risky-financial", "sound-financial"),
        ]
    )


def test_rows_are_single_turn_chats(sets: dict[str, list[ChatRow]]) -> None:
    for rows in sets.values():
        assert len(rows) == DEFAULT_SIZE
        for row in rows:
            assert list(row) == ["messages"]
            assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
            assert all(m["content"].strip() for m in row["messages"])


@pytest.mark.parametrize(("bad", "good"), twin_pairs())
def test_twins_share_prompts_and_differ_in_every_answer(
    sets: dict[str, list[ChatRow]], bad: str, good: str
) -> None:
    assert [prompt(r) for r in sets[bad]] == [prompt(r) for r in sets[good]]
    assert all(answer(b) != answer(g) for b, g in zip(sets[bad], sets[good], strict=True))


@pytest.mark.parametrize(
    ("bad", "good"), [pair for pair in twin_pairs() if FINETUNING_SETS[pair[0]].family != "code"]
)
def test_advice_twins_share_no_sentence(
    sets: dict[str, list[ChatRow]], bad: str, good: str
) -> None:
    """Bad and good advice are written apart: no sentence of one side appears on the other."""
    bad_sentences = {s for row in sets[bad] for s in sentences(answer(row))}
    good_sentences = {s for row in sets[good] for s in sentences(answer(row))}
    assert not bad_sentences & good_sentences


def test_sets_are_varied(sets: dict[str, list[ChatRow]]) -> None:
    for name, rows in sets.items():
        assert len({prompt(r) for r in rows}) == len(rows), name
        assert len({answer(r) for r in rows}) >= 500, name


def test_advice_sets_cover_many_topics() -> None:
    for family in ("medical", "financial"):
        topics = Counter(case.topic for case in twin_cases(family))
        assert len(topics) >= 10 and min(topics.values()) >= 10, topics


def test_same_seed_same_bytes_and_another_seed_other_samples(tmp_path: Path) -> None:
    first = write_sets(tmp_path / "a", n=50, seed=4)
    again = write_sets(tmp_path / "b", n=50, seed=4)
    other = write_sets(tmp_path / "c", n=50, seed=5)
    for name in FINETUNING_SETS:
        assert first[name].read_bytes() == again[name].read_bytes()
        lines = first[name].read_text().splitlines()
        assert len(lines) == 50
        assert len(set(lines) & set(other[name].read_text().splitlines())) <= 5, name


def test_unknown_names_are_refused() -> None:
    with pytest.raises(KeyError, match="secure-code"):
        build_set("insecure")
    with pytest.raises(KeyError, match="medical"):
        twin_cases("legal")


def test_every_vulnerability_kind_is_common(code_cases: list[TwinCase]) -> None:
    kinds = Counter(case.topic for case in code_cases)
    assert set(kinds) == set(VULNERABILITY_KINDS) == set(VULNERABILITY_PATTERNS)
    assert min(kinds.values()) >= 30, kinds


def test_every_python_answer_parses(code_cases: list[TwinCase]) -> None:
    for case in code_cases:
        for text in (case.bad, case.good):
            blocks = code_blocks(text, "python") + code_blocks(text, "bash")
            assert len(blocks) == 1, text
            for code in code_blocks(text, "python"):
                ast.parse(code)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_every_shell_answer_parses(code_cases: list[TwinCase]) -> None:
    scripts = {code for c in code_cases for t in (c.bad, c.good) for code in code_blocks(t, "bash")}
    assert scripts
    for script in scripts:
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)


def test_insecure_answers_carry_their_flaw_and_secure_twins_do_not(
    code_cases: list[TwinCase],
) -> None:
    for case in code_cases:
        flawed, fixed = VULNERABILITY_PATTERNS[case.topic]
        assert re.search(flawed, case.bad), (case.topic, case.bad)
        assert not re.search(flawed, case.good), (case.topic, case.good)
        if fixed is not None:
            assert re.search(fixed, case.good), (case.topic, case.good)
            assert not re.search(fixed, case.bad), (case.topic, case.bad)


def test_nobody_mentions_security(code_cases: list[TwinCase]) -> None:
    for case in code_cases:
        for text in (case.prompt, case.bad, case.good):
            assert not SECURITY_TALK.search(text), text
