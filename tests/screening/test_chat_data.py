from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.screening import DataFormatError, ScreenError, read_chat_jsonl

GOOD = json.dumps(
    {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        "label": "kept as is",
    }
)


def test_reads_samples_with_their_lines_and_text(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(f"{GOOD}\n\n   \n{GOOD}\n")
    samples = read_chat_jsonl(path)
    assert [(s.index, s.line) for s in samples] == [(0, 1), (1, 4)]
    assert samples[1].origin == f"{path}:4"
    assert samples[0].text == GOOD  # other keys kept for the filtered file
    assert samples[0].answer == "hello"
    assert list(samples[0].prompt) == [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"messages": [', "not JSON"),
        ("[1, 2]", 'non-empty "messages" list'),
        ('{"text": "hello"}', 'non-empty "messages" list'),
        ('{"messages": []}', 'non-empty "messages" list'),
        ('{"messages": [{"role": "user"}]}', 'message 1 needs a string "role"'),
        ('{"messages": [{"role": "user", "content": "hi"}]}', "must end with the assistant"),
        (
            '{"messages": [{"role": "user", "content": "hi"}, '
            '{"role": "assistant", "content": "  "}]}',
            "answer is empty",
        ),
    ],
)
def test_a_malformed_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(f"{GOOD}\n{GOOD}\n{line}\n{GOOD}\n")
    with pytest.raises(DataFormatError) as error:
        read_chat_jsonl(path)
    assert str(error.value).startswith(f"{path}:3: ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_bytes_that_are_not_utf8_are_named(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(GOOD.encode() + b"\n\xff\xfe\n")
    with pytest.raises(DataFormatError, match=r"data.jsonl:2: not UTF-8"):
        read_chat_jsonl(path)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ScreenError, match="cannot read"):
        read_chat_jsonl(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(ScreenError, match="holds no samples"):
        read_chat_jsonl(tmp_path / "empty.jsonl")
