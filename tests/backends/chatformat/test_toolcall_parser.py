"""The streaming tool-call parser: markup hidden, near-JSON read, chunking irrelevant."""

from __future__ import annotations

import itertools

from agentshell_chatformat import ToolCallParser, coalesce
from agentshell_chatformat.parser import ParserEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from agentshell.protocol import MalformedToolCall, TextDelta, ToolCall
from tests.backends.chatformat.chunked_streams import chunked_streams


def _ids() -> ToolCallParser:
    counter = itertools.count()
    return ToolCallParser(id_factory=lambda: f"call_{next(counter):08d}")


def parse(chunks: list[str]) -> list[ParserEvent]:
    parser = _ids()
    events: list[ParserEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.finish())
    return coalesce(events)


def calls(events: list[ParserEvent]) -> list[tuple[str, dict[str, object]]]:
    return [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)]


def text(events: list[ParserEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_plain_text_passes_through() -> None:
    assert parse(["Hello, ", "world."]) == [TextDelta(text="Hello, world.")]


def test_call_is_hidden_from_text() -> None:
    events = parse(['Reading it.\n<tool_call>\n{"name": "read_file", "arguments": {"path": "a.md"}}\n</tool_call>'])
    assert text(events) == "Reading it.\n"
    assert calls(events) == [("read_file", {"path": "a.md"})]
    call = next(e for e in events if isinstance(e, ToolCall))
    assert call.id.startswith("call_") and len(call.id) == 13


def test_default_ids_are_call_plus_eight() -> None:
    parser = ToolCallParser()
    events = parser.feed('<tool_call>{"name": "x", "arguments": {}}</tool_call>') + parser.finish()
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert call.id.startswith("call_") and len(call.id) == 13 and call.id[5:].isalnum()


def test_text_is_streamed_before_the_stream_ends() -> None:
    parser = _ids()
    assert parser.feed("Sure, here") == [TextDelta(text="Sure, here")]
    # A possible tag start is held back, then released when it turns out not to be one.
    assert parser.feed(" <tool") == [TextDelta(text=" ")]
    assert coalesce(parser.feed("box> is fine")) == [TextDelta(text="<toolbox> is fine")]


def test_in_tool_call_flag() -> None:
    parser = _ids()
    parser.feed('<tool_call>{"name"')
    assert parser.in_tool_call
    parser.feed(': "a"}</tool_call>')
    assert not parser.in_tool_call


def test_near_json_is_read() -> None:
    body = "<tool_call>{'name': 'grep', 'parameters': {'pattern': 'it\\'s', 'flags': None, 'ok': True,},}</tool_call>"
    assert calls(parse([body])) == [("grep", {"pattern": "it's", "flags": None, "ok": True})]


def test_unquoted_keys_and_string_arguments() -> None:
    assert calls(parse(['<tool_call>{name: "ls", arguments: "{\\"path\\": \\".\\"}"}</tool_call>'])) == [
        ("ls", {"path": "."})
    ]


def test_code_fence_inside_the_tags() -> None:
    body = '<tool_call>\n```json\n{"name": "ls", "arguments": {"path": "src"}}\n```\n</tool_call>'
    assert calls(parse([body])) == [("ls", {"path": "src"})]


def test_function_wrapper_and_several_calls() -> None:
    body = (
        '<tool_call>{"function": {"name": "a", "arguments": {"x": 1}}}\n{"name": "b", "arguments": {}}</tool_call>'
        '<tool_call>[{"name": "c"}]</tool_call>'
    )
    assert calls(parse([body])) == [("a", {"x": 1}), ("b", {}), ("c", {})]


def test_call_inside_a_fenced_block_is_text() -> None:
    source = 'To call a tool, write:\n```\n<tool_call>{"name": "x", "arguments": {}}</tool_call>\n```\nDone.'
    events = parse([source])
    assert calls(events) == []
    assert text(events) == source


def test_fence_closes_and_calls_work_again() -> None:
    source = '~~~~\n```\n<tool_call>{"name": "no"}</tool_call>\n~~~~\n<tool_call>{"name": "yes"}</tool_call>'
    assert calls(parse([source])) == [("yes", {})]


def test_unclosed_call_at_end_of_stream_is_parsed() -> None:
    assert calls(parse(['<tool_call>\n{"name": "ls", "arguments": {"path": "."}}\n'])) == [("ls", {"path": "."})]


def test_malformed_call_carries_a_clear_error() -> None:
    events = parse(['<tool_call>{"name": "ls", "arguments": {"path": </tool_call>after'])
    (bad,) = [e for e in events if isinstance(e, MalformedToolCall)]
    assert "could not read the tool call" in bad.error and "invalid JSON" in bad.error
    assert '"arguments"' in bad.error  # the reminder of the format, for the model
    assert bad.raw.startswith('{"name"')
    assert text(events) == "after"


def test_wrong_argument_type_is_malformed_with_name() -> None:
    (bad,) = parse(['<tool_call>{"name": "ls", "arguments": [1, 2]}</tool_call>'])
    assert isinstance(bad, MalformedToolCall)
    assert bad.name == "ls" and "must be a JSON object" in bad.error


def test_missing_name_is_malformed() -> None:
    (bad,) = parse(['<tool_call>{"arguments": {}}</tool_call>'])
    assert isinstance(bad, MalformedToolCall) and 'no "name"' in bad.error


def test_empty_call_is_malformed() -> None:
    (bad,) = parse(["<tool_call>  </tool_call>"])
    assert isinstance(bad, MalformedToolCall) and "empty" in bad.error


# --------------------------------------------------------------------------- any chunking, same result

_PIECES = st.sampled_from(
    [
        "Hello ",
        "world\n",
        "<tool_call>",
        "</tool_call>",
        '{"name": "read_file", "arguments": {"path": "a b.md"}}',
        "{'name': 'ls', 'parameters': {'deep': True,},}",
        "```",
        "```json\n",
        "~~~",
        "\n",
        "   ",
        "<tool",
        "<",
        "`",
        "{bad json",
        "</tool_",
        "é😀",
    ]
)


@settings(max_examples=400, deadline=None)
@given(chunked_streams(_PIECES))
def test_any_chunking_gives_the_same_result(case: tuple[str, list[str]]) -> None:
    source, chunks = case
    assert parse(chunks) == parse([source])
    assert parse(list(source)) == parse([source])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes_and_text_outside_tags_survives(source: str) -> None:
    events = parse(list(source))
    assert events == parse([source])
    if "<tool_call>" not in source:
        assert text(events) == source


# --------------------------------------------------------------------------- several blocks in one reply

SEVERAL_BLOCKS = (
    "I will read both.\n"
    '<tool_call>\n{"name": "read_file", "arguments": {"path": "a.md"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "read_file", "arguments": {"path": "b.md"}}\n</tool_call>\n\n'
    '<tool_call>{"name": "ls", "arguments": {}}</tool_call>'
)


def test_several_separate_blocks_give_several_calls() -> None:
    events = parse([SEVERAL_BLOCKS])
    assert calls(events) == [("read_file", {"path": "a.md"}), ("read_file", {"path": "b.md"}), ("ls", {})]
    assert text(events).strip() == "I will read both."
    assert len({e.id for e in events if isinstance(e, ToolCall)}) == 3


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(SEVERAL_BLOCKS)), max_size=20))
def test_several_blocks_any_chunking(cuts: list[int]) -> None:
    cuts = sorted(cuts)
    chunks = [SEVERAL_BLOCKS[a:b] for a, b in zip([0, *cuts], [*cuts, len(SEVERAL_BLOCKS)], strict=True)]
    assert parse(chunks) == parse([SEVERAL_BLOCKS])


def test_open_call_text_is_what_follows_the_tag() -> None:
    parser = _ids()
    assert parser.open_call_text == ""
    parser.feed('Sure.\n<tool_call>\n{"name": "ls", "argu')
    assert parser.open_call_text == '\n{"name": "ls", "argu'
    parser.feed('ments": {}}</tool_call>')
    assert parser.open_call_text == ""
