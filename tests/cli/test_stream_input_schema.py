"""The stream-json input lines: their schema is a contract (a golden copy) and every bad line says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentshell.cli.stream_input import InterruptInput, InvalidInput, UserInput, agent_input_schema, parse_line

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "agent_input_schema.json"


def test_input_schema_matches_the_reviewed_copy() -> None:
    assert agent_input_schema() == json.loads(GOLDEN.read_text())


def test_claude_code_lines_are_read_as_they_are_written() -> None:
    line = {
        "type": "user",
        "message": {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        "parent_tool_use_id": None,
        "session_id": "whatever",
    }
    item = parse_line(json.dumps(line).encode(), 1)
    assert isinstance(item, UserInput) and item.text() == "a\n\nb"


def test_the_short_forms() -> None:
    item = parse_line(b'{"schema_version": 1, "type": "user", "message": {"content": "hi"}}', 1)
    assert isinstance(item, UserInput) and item.text() == "hi"
    assert isinstance(parse_line(b'{"type": "interrupt"}', 2), InterruptInput)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe", "input line 7 is not UTF-8"),
        (b"{", "input line 7 is not JSON: Expecting property name"),
        (b"[1]", "input line 7: Input should be a valid dictionary"),
        (b'{"type": "user", "message": {"content": "  "}}', "input line 7: the message is empty"),
        (b'{"type": "user", "message": {"content": "x"}, "extra": 1}', "input line 7: extra: Extra inputs"),
        (b'{"type": "user", "message": {"content": [{"type": "image"}]}}', "input line 7: message.content"),
        (b'{"type": "user", "schema_version": "1"}', 'input line 7: schema_version "1" is not supported'),
    ],
)
def test_a_bad_line_says_where_and_why(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_line(raw, 7)
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == 2
