"""Properties: no host string and no line from the wire ends in anything but a protocol error."""

from __future__ import annotations

import json
from typing import Any

from agentshell_ollama import OllamaBackend
from agentshell_ollama.endpoint import parse_host
from agentshell_ollama.stream import ChatStreamDecoder
from hypothesis import given, settings
from hypothesis import strategies as st

from agentshell.protocol import BackendError, BackendFailure, Done, MalformedToolCall, ToolCall

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_host_text_gives_a_client_or_one_clear_line(text: str) -> None:
    host = parse_host(text)
    scheme, _, rest = host.partition("://")
    assert scheme and rest and not host.endswith("/")
    backend = OllamaBackend({"host": text})
    try:
        backend._http()  # builds the client only: no connection is made
    except BackendFailure as failure:
        assert "invalid Ollama host" in str(failure)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=40) | json_values.map(lambda v: json.dumps(v).encode()), max_size=6))
def test_any_line_is_an_event_or_a_backend_error(lines: list[bytes]) -> None:
    decoder = ChatStreamDecoder(model="m", num_ctx=4096, estimated_prompt_tokens=100)
    for line in lines:
        try:
            decoder.feed(line)
        except BackendError:
            return


tool_calls = st.lists(
    st.fixed_dictionaries(
        {"function": st.fixed_dictionaries({"name": st.text(min_size=1, max_size=8), "arguments": json_values})},
        optional={"id": st.text(max_size=12)},
    ),
    max_size=4,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(tool_calls, min_size=1, max_size=4))
def test_every_tool_call_comes_out_once_with_a_unique_id(chunks: list[list[dict[str, Any]]]) -> None:
    decoder = ChatStreamDecoder(model="m")
    events = []
    for calls in chunks:
        message = {"role": "assistant", "content": "", "tool_calls": calls}
        events += decoder.feed(json.dumps({"message": message, "done": False}))
    events += decoder.feed(json.dumps({"message": {"role": "assistant", "content": ""}, "done": True}))
    calls_out = [e for e in events if isinstance(e, ToolCall | MalformedToolCall)]
    assert len(calls_out) == sum(len(c) for c in chunks)
    assert len({c.id for c in calls_out}) == len(calls_out)
    done = events[-1]
    assert isinstance(done, Done)
    assert done.stop_reason == ("tool_calls" if calls_out else "stop")
