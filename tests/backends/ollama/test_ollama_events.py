"""Streams from Ollama's examples turned into protocol events: text, thinking, tool calls, Done."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from agentshell_ollama import OllamaBackend
from agentshell_ollama.stream import ChatStreamDecoder, prompt_was_cut

from agentshell.protocol import (
    ChatOptions,
    Done,
    Event,
    MalformedToolCall,
    Message,
    Notice,
    TextDelta,
    ThinkingDelta,
    ToolCall,
)

HOST = "http://127.0.0.1:11434"
USER = [Message(role="user", content="hi")]


def run(
    backend: OllamaBackend, stream: bytes, show: dict[str, Any], model: str = "llama3.2", **options: Any
) -> list[Event]:
    with respx.mock(base_url=HOST, assert_all_called=False) as router:  # /api/show is cached per backend
        router.post("/api/show").mock(return_value=httpx.Response(200, json=show))
        router.post("/api/chat").mock(return_value=httpx.Response(200, content=stream))
        return list(backend.chat(model, USER, options=ChatOptions(**options)))


def chunk(message: dict[str, Any], done: bool = False, **extra: Any) -> bytes:
    return (
        json.dumps(
            {"model": "m", "message": {"role": "assistant", "content": "", **message}, "done": done, **extra}
        ).encode()
        + b"\n"
    )


FINAL = chunk({}, done=True, done_reason="stop", prompt_eval_count=10, eval_count=5)


def test_text_stream(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    events = run(make_backend(), wire.bytes("chat-stream-text.ndjson"), show())
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert "".join(texts) == "That's a fantastic question!"
    assert texts[-1] == "!"  # the final chunk still carries content
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "stop"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (11, 18)
    assert done.timings.load_ms == pytest.approx(101.397084)
    assert done.timings.prompt_ms == pytest.approx(13.074791)
    assert done.timings.generation_ms == pytest.approx(52.479709)
    assert done.timings.first_token_ms is not None and done.timings.first_token_ms > 0


def test_final_chunk_without_done_reason(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    events = run(make_backend(), wire.bytes("chat-stream-text-llama32.ndjson"), show())
    assert [type(e) for e in events] == [TextDelta, Done]
    assert isinstance(events[-1], Done) and events[-1].usage.completion_tokens == 282


def test_thinking_then_answer(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    events = run(
        make_backend(),
        wire.bytes("chat-thinking-stream.ndjson"),
        show(arch="qwen3", capabilities=("completion", "thinking")),
        model="qwen3",
    )
    thinking = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert thinking == "Okay, the user asks for 17 × 23. 17 × 20 = 340 and 17 × 3 = 51, so 340 + 51 = 391."
    assert answer == "17 × 23 = 391"
    assert events.index(next(e for e in events if isinstance(e, TextDelta))) == 5


def test_tool_call_without_id_gets_one_and_done_says_tool_calls(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    events = run(make_backend(), wire.bytes("chat-tools-stream.ndjson"), show())
    call, done = events
    assert isinstance(call, ToolCall) and call.name == "get_weather" and call.arguments == {"city": "Tokyo"}
    assert call.id.startswith("call_") and len(call.id) == 13
    assert isinstance(done, Done) and done.stop_reason == "tool_calls"  # Ollama said "stop"


def test_tool_call_id_from_ollama_is_kept(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    events = run(make_backend(), wire.bytes("chat-tools-stream-with-ids.ndjson"), show())
    assert isinstance(events[0], ToolCall) and events[0].id == "call_k3x9q2mf"


def test_several_calls_per_chunk_and_over_chunks(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    def call(name: str, city: str, call_id: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"function": {"name": name, "arguments": {"city": city}}}
        if call_id:
            out["id"] = call_id
        return out

    stream = (
        chunk({"content": "Checking."})
        + chunk({"tool_calls": [call("get_temperature", "New York", "call_a"), call("get_conditions", "New York")]})
        + chunk({"tool_calls": [call("get_temperature", "London", "call_a")]})  # a repeated id is replaced
        + chunk({"tool_calls": [call("get_conditions", "London", "call_d")]})
        + FINAL
    )
    events = run(make_backend(), stream, show())
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments["city"]) for c in calls] == [
        ("get_temperature", "New York"),
        ("get_conditions", "New York"),
        ("get_temperature", "London"),
        ("get_conditions", "London"),
    ]
    assert len({c.id for c in calls}) == 4 and calls[0].id == "call_a" and calls[3].id == "call_d"
    assert isinstance(events[0], TextDelta)
    assert isinstance(events[-1], Done) and events[-1].stop_reason == "tool_calls"


def test_arguments_as_a_json_string_and_broken_calls(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    stream = (
        chunk({"tool_calls": [{"function": {"name": "read", "arguments": '{"path": "a.py"}'}}]})
        + chunk({"tool_calls": [{"function": {"name": "read", "arguments": '{"path": '}}]})
        + chunk({"tool_calls": [{"function": {"name": "read", "arguments": [1, 2]}}]})
        + chunk({"tool_calls": [{"function": {"arguments": {}}}]})
        + FINAL
    )
    events = run(make_backend(), stream, show())
    good, *bad, done = events
    assert isinstance(good, ToolCall) and good.arguments == {"path": "a.py"}
    assert [type(b) for b in bad] == [MalformedToolCall] * 3
    assert [b.error for b in bad if isinstance(b, MalformedToolCall)] == [
        "arguments: Expecting value: line 1 column 10 (char 9)",
        "arguments must be a JSON object",
        "the tool call has no function name",
    ]
    assert isinstance(done, Done) and done.stop_reason == "tool_calls"


def test_length_stop(make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]) -> None:
    stream = chunk({"content": "abc"}) + chunk({}, done=True, done_reason="length", eval_count=3)
    done = run(make_backend(), stream, show())[-1]
    assert isinstance(done, Done) and done.stop_reason == "length"


def test_cloud_warning_once_per_backend(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    backend = make_backend()
    stream = chunk({"content": "hi"}) + FINAL
    first = run(backend, stream, show(context=262144), model="qwen3.5:397b-cloud")
    second = run(backend, stream, show(context=262144), model="qwen3.5:397b-cloud")
    warnings = [e for e in first if isinstance(e, Notice)]
    assert [(w.level, w.text) for w in warnings] == [
        ("warning", "qwen3.5:397b-cloud runs on Ollama's cloud: this conversation leaves this machine")
    ]
    assert not [e for e in second if isinstance(e, Notice)]
    info = backend.describe("qwen3.5:397b-cloud")  # cached: no request
    assert info.remote and info.context_length == 262144


def test_truncated_prompt_warns(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    stream = chunk({"content": "ok"}) + chunk({}, done=True, done_reason="stop", prompt_eval_count=2048, eval_count=1)
    events = run(make_backend(), stream, show(context=2048))
    notice = next(e for e in events if isinstance(e, Notice))
    assert notice.level == "warning"
    assert notice.text.startswith("the conversation did not fit llama3.2's context of 2048 tokens")
    assert isinstance(events[-1], Done)


@pytest.mark.parametrize(
    ("prompt_tokens", "num_ctx", "estimated", "cut"),
    [
        (100, 8192, 120, False),
        (8192, 8192, 9000, True),  # filled the window
        (3000, 8192, 40000, True),  # expected ~40k tokens, got 3k: the start was dropped
        (7000, 8192, 9000, False),  # over the estimate's noise, not clearly cut
        (0, 8192, 40000, False),  # no count reported
        (500, None, 40000, False),  # window unknown
    ],
)
def test_prompt_was_cut(prompt_tokens: int, num_ctx: int | None, estimated: int, cut: bool) -> None:
    assert prompt_was_cut(prompt_tokens, num_ctx, estimated) is cut


def test_decoder_ignores_blank_lines_and_unknown_fields() -> None:
    decoder = ChatStreamDecoder(model="m")
    assert decoder.feed(b"   ") == []
    assert decoder.feed(b'{"model":"m","message":{"role":"assistant","content":"","images":null},"done":false}') == []
    assert not decoder.shown
