"""Calls an OpenAI-compatible server left in the content are recovered; a server refusing `tools` gets them as text.

The field reports of tests/fixtures/toolcall_text go through the real chunk
assembler cut at every position, and through the backend over mocked HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from agentshell_openai import OpenAIBackend
from agentshell_openai.stream import ChunkAssembler
from hypothesis import given, settings
from hypothesis import strategies as st

from agentshell.protocol import (
    ChatOptions,
    Done,
    Event,
    MalformedToolCall,
    Message,
    Notice,
    TextDelta,
    ToolCall,
    ToolCallRequest,
    ToolsUnsupported,
)
from tests.backends.chatformat.toolcall_fixtures import FieldCase, field_cases, ordinary_answers, ordinary_tools, specs

BASE = "http://gpu.test:8000/v1"
FIELD = field_cases()
TOOLS = specs({"bash": {"command": "string"}, "read_file": {"path": "string"}})
SSE = {"content-type": "text/event-stream"}


def delta(finish: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def assemble(pieces: list[str], tools: Any, debug: bool = False) -> tuple[list[Any], bool]:
    assembler = ChunkAssembler(BASE, tools=tools, debug=debug)
    events: list[Any] = []
    for piece in pieces:
        events.extend(assembler.feed(json.dumps(delta(content=piece))))
    events.extend(assembler.feed(json.dumps(delta(finish="stop"))))
    events.extend(assembler.finish())
    return events, assembler.called


def outcome(events: list[Any]) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    calls = [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)]
    return calls, "".join(e.text for e in events if isinstance(e, TextDelta))


@pytest.mark.parametrize("case", FIELD, ids=lambda c: c.name)
def test_field_report_in_openai_content_at_every_split(case: FieldCase) -> None:
    for cut in range(len(case.text) + 1):
        events, called = assemble([case.text[:cut], case.text[cut:]], case.tools)
        assert outcome(events) == (case.calls, case.shown) and called, cut


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FIELD), st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_field_report_under_any_chunking(case: FieldCase, cuts: list[int]) -> None:
    points = sorted({min(c, len(case.text)) for c in cuts})
    pieces = [case.text[a:b] for a, b in zip([0, *points], [*points, len(case.text)], strict=True)]
    assert outcome(assemble(pieces, case.tools)[0]) == (case.calls, case.shown)


@pytest.mark.parametrize(("name", "text"), ordinary_answers(), ids=[n for n, _ in ordinary_answers()])
def test_ordinary_answer_stays_text(name: str, text: str) -> None:
    events, called = assemble(list(text), ordinary_tools())
    assert outcome(events) == ([], text) and not called


# --------------------------------------------------------------------------- through the backend


def sse(*chunks: dict[str, Any]) -> bytes:
    return ("".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n").encode()


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def chat(backend: OpenAIBackend, messages: list[Message] | None = None, tools: Any = TOOLS) -> list[Event]:
    convo = messages or [Message(role="user", content="list the files")]
    return list(backend.chat("qwen", convo, tools=tools, options=ChatOptions()))


def test_content_call_becomes_a_tool_call_and_debug_says_so(mock: respx.MockRouter) -> None:
    text = next(c for c in FIELD if c.name == "forge-56.txt").text
    chunks = [delta(content=text[i : i + 7]) for i in range(0, len(text), 7)]
    mock.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, headers=SSE, content=sse(delta(role="assistant"), *chunks, delta("stop")))
    )
    events = chat(OpenAIBackend({"base_url": BASE, "debug": True}))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in calls] == [("bash", {"command": 'grep -r "percentage" . --include="*.py"'})]
    assert not any(isinstance(e, TextDelta) for e in events)
    assert any(isinstance(e, Notice) and e.text == "recovered 1 tool call from text: bash" for e in events)
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "tool_calls"


def test_unoffered_name_stays_text(mock: respx.MockRouter) -> None:
    text = '<tool_call>{"name": "delete_everything", "arguments": {}}</tool_call>'
    mock.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, headers=SSE, content=sse(delta(content=text), delta("stop")))
    )
    events = chat(OpenAIBackend({"base_url": BASE}))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == text
    assert not any(isinstance(e, ToolCall | MalformedToolCall) for e in events)


@pytest.mark.parametrize(
    "refusal",
    [
        {
            "error": {
                "message": '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
            }
        },
        {"error": {"code": 500, "message": "tools param requires --jinja flag", "type": "server_error"}},
    ],
)
def test_server_refusing_tools_gets_them_as_text(mock: respx.MockRouter, refusal: dict[str, Any]) -> None:
    answer = sse(delta(content='{"name": "bash", "arguments": {"command": "ls"}}'), delta("stop"))
    route = mock.post(f"{BASE}/chat/completions").mock(
        side_effect=[httpx.Response(400, json=refusal), httpx.Response(200, headers=SSE, content=answer)]
    )
    backend = OpenAIBackend({"base_url": BASE, "extra_body": {"tool_choice": "auto"}})
    history = [
        Message(role="user", content="list the files"),
        Message(role="assistant", tool_calls=(ToolCallRequest(id="c1", name="bash", arguments={"command": "pwd"}),)),
        Message(role="tool", content="/work", tool_call_id="c1", name="bash"),
    ]
    events = chat(backend, history)
    assert [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)] == [("bash", {"command": "ls"})]
    said = refusal["error"]["message"]
    assert [e.text for e in events if isinstance(e, Notice)] == [
        f"'qwen' on {BASE} cannot call tools: {said}: its tools are described in the prompt instead"
    ]
    native, text = (json.loads(call.request.content) for call in route.calls)
    assert "tools" in native and "tools" not in text and "tool_choice" not in text
    assert [m["role"] for m in text["messages"]] == ["system", "user", "assistant", "user"]
    assert "<tool_call>" in text["messages"][2]["content"] and "tool_calls" not in text["messages"][2]
    # the next turn goes straight to the text format, with no second refusal and no second notice
    route.side_effect = None
    route.return_value = httpx.Response(200, headers=SSE, content=sse(delta(content="Done."), delta("stop")))
    again = chat(backend, history)
    assert not any(isinstance(e, Notice) for e in again) and "tools" not in json.loads(route.calls[-1].request.content)


def test_a_refusal_without_tools_offered_stays_an_error(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(400, json={"error": {"message": "tools param requires --jinja flag"}})
    )
    with pytest.raises(ToolsUnsupported):
        chat(OpenAIBackend({"base_url": BASE}), tools=())
