"""Stream assembly under arbitrary fragmentation: of tool-call arguments, and of the bytes on the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import respx
from agentshell_openai import OpenAIBackend
from agentshell_openai.stream import ChunkAssembler, sse_payloads
from hypothesis import given, settings
from hypothesis import strategies as st

from agentshell.protocol import ChatOptions, Done, Message, TextDelta, ToolCall

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
arguments = st.dictionaries(st.text(min_size=1, max_size=6), json_values, max_size=4)


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


@settings(max_examples=60, deadline=None)
@given(args=arguments, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_arguments_split_anywhere_reassemble(args: dict[str, Any], cuts: list[int]) -> None:
    raw = json.dumps(args, ensure_ascii=False)
    assembler = ChunkAssembler("test")
    first = True
    for piece in split(raw, cuts):
        fragment: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
        if first:
            fragment.update(id="call_1", type="function")
            fragment["function"]["name"] = "tool"
            first = False
        chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [fragment]}, "finish_reason": None}]}
        assert assembler.feed(json.dumps(chunk)) == []
    assembler.feed(json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}))
    assert assembler.tool_calls() == [ToolCall(id="call_1", name="tool", arguments=args)]


def test_sse_framing_ignores_comments_and_other_fields() -> None:
    lines = [": keep-alive", "event: message", "id: 7", "data: one", "", "retry: 10", "data:two", "data: more", ""]
    assert list(sse_payloads(lines)) == ["one", "two\nmore"]


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=100_000), max_size=30))
def test_bytes_split_anywhere_on_the_wire(cuts: list[int]) -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": word}}]} for word in ("héllo", " wörld", " 🌍")]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    body = "".join(f"data: {json.dumps(c, ensure_ascii=False)}\r\n\r\n" for c in chunks) + "data: [DONE]\r\n\r\n"
    raw = body.encode()
    points = sorted({c % (len(raw) + 1) for c in cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]

    def stream() -> Iterator[bytes]:
        yield from pieces

    with respx.mock() as mock:
        mock.post("http://x.test/v1/chat/completions").mock(
            return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())
        )
        events = list(
            OpenAIBackend({"base_url": "http://x.test/v1"}).chat(
                "m", [Message(role="user", content="hi")], options=ChatOptions()
            )
        )
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "héllo wörld 🌍"
    assert isinstance(events[-1], Done)
