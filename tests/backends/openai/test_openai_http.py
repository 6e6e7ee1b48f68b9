"""The openai backend against mocked HTTP (respx): request shape, stream assembly and error mapping."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from agentshell_openai import OpenAIBackend

from agentshell.protocol import (
    AuthRequired,
    BackendError,
    BackendUnavailable,
    ChatOptions,
    ContextOverflow,
    Done,
    Event,
    MalformedToolCall,
    Message,
    ModelNotFound,
    RateLimited,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallRequest,
    ToolSpec,
)

BASE = "http://gpu.test:8000/v1"
OPTS = ChatOptions()
SSE = {"content-type": "text/event-stream"}


def sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    parts = [f"data: {json.dumps(c)}\n\n" for c in chunks]
    if done:
        parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


def delta(finish: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": fields, "finish_reason": finish}]}


def backend(**options: Any) -> OpenAIBackend:
    return OpenAIBackend({"base_url": BASE, "retry_backoff": 0.0, **options})


def run(b: OpenAIBackend, model: str = "m", **kw: Any) -> list[Event]:
    return list(b.chat(model, [Message(role="user", content="hi")], options=kw.pop("options", OPTS), **kw))


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def test_streamed_text_usage_and_request_shape(mock: respx.MockRouter) -> None:
    route = mock.post(f"{BASE}/chat/completions").respond(
        200,
        headers=SSE,
        content=sse(
            delta(role="assistant"),
            delta(content="Hel"),
            delta(content="lo"),
            delta("stop"),
            {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}},
        ),
    )
    tools = [
        ToolSpec(
            name="read_file",
            description="Read",
            parameters={
                "type": "object",
                "properties": {"opts": {"type": "object", "properties": {"n": {"enum": [1, 2]}}}},
                "required": ["opts"],
            },
        )
    ]
    history = [
        Message(role="system", content="sys"),
        Message(role="user", content="hi"),
        Message(
            role="assistant",
            content="",
            tool_calls=(ToolCallRequest(id="c1", name="read_file", arguments={"opts": {"n": 1}}),),
        ),
        Message(role="tool", content="data", tool_call_id="c1", name="read_file"),
    ]
    b = OpenAIBackend({"base_url": BASE, "api_key": "sk-test"})
    events = list(
        b.chat(
            "m",
            history,
            tools=tools,
            options=ChatOptions(temperature=0.0, seed=3, max_tokens=9, think="high", extra={"tool_choice": "auto"}),
        )
    )
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo"]
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "stop"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (7, 2)
    assert done.timings.first_token_ms is not None
    request = route.calls.last.request
    assert request.headers["authorization"] == "Bearer sk-test"
    sent = json.loads(request.content)
    assert sent["model"] == "m" and sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["temperature"] == 0.0 and sent["seed"] == 3 and sent["max_tokens"] == 9
    assert sent["reasoning_effort"] == "high" and sent["tool_choice"] == "auto"
    assert sent["tools"][0]["function"]["parameters"] == tools[0].parameters  # schema passes unchanged
    assert sent["messages"][2]["tool_calls"][0] == {
        "id": "c1",
        "type": "function",
        "function": {"name": "read_file", "arguments": '{"opts": {"n": 1}}'},
    }
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "c1", "content": "data"}


def test_tool_calls_assembled_from_fragments_by_index(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/chat/completions").respond(
        200,
        headers=SSE,
        content=sse(
            delta(
                tool_calls=[
                    {"index": 0, "id": "a", "type": "function", "function": {"name": "read_file", "arguments": ""}}
                ]
            ),
            delta(tool_calls=[{"index": 1, "id": "b", "function": {"name": "grep", "arguments": '{"pat'}}]),
            delta(tool_calls=[{"index": 0, "function": {"arguments": '{"path": '}}]),
            delta(tool_calls=[{"index": 1, "function": {"arguments": 'tern": "x"}'}}]),
            delta(tool_calls=[{"index": 0, "function": {"arguments": '"README.md"}'}}]),
            delta("stop"),  # some servers say "stop" after tool calls
        ),
    )
    events = run(backend())
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("a", "read_file", {"path": "README.md"}),
        ("b", "grep", {"pattern": "x"}),
    ]
    assert isinstance(events[-1], Done) and events[-1].stop_reason == "tool_calls"


def test_llama_cpp_style_repeated_names_and_missing_index(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/chat/completions").respond(
        200,
        headers=SSE,
        content=sse(
            delta(tool_calls=[{"id": "x1", "function": {"name": "get", "arguments": "{"}}]),
            delta(tool_calls=[{"id": "x1", "function": {"name": "get", "arguments": '"a": 1}'}}]),
            delta(tool_calls=[{"id": "x2", "function": {"name": "put", "arguments": {"b": 2}}}]),
            delta("tool_calls"),
        ),
    )
    calls = [e for e in run(backend()) if isinstance(e, ToolCall)]
    assert [(c.id, c.name, c.arguments) for c in calls] == [("x1", "get", {"a": 1}), ("x2", "put", {"b": 2})]


def test_bad_arguments_become_malformed_tool_call(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/chat/completions").respond(
        200,
        headers=SSE,
        content=sse(
            delta(tool_calls=[{"index": 0, "id": "q", "function": {"name": "bash", "arguments": '{"command": '}}]),
            delta("tool_calls"),
        ),
    )
    events = run(backend())
    bad = [e for e in events if isinstance(e, MalformedToolCall)]
    assert len(bad) == 1 and bad[0].name == "bash" and bad[0].raw == '{"command": '
    assert "not valid JSON" in bad[0].error


def test_reasoning_content_becomes_thinking(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/chat/completions").respond(
        200,
        headers=SSE,
        content=sse(delta(reasoning_content="let me "), delta(reasoning="think"), delta(content="42"), delta("stop")),
    )
    events = run(backend())
    assert [e.text for e in events if isinstance(e, ThinkingDelta)] == ["let me ", "think"]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["42"]


def test_sse_comments_multiline_data_and_no_blank_lines(mock: respx.MockRouter) -> None:
    body = (
        ": ping\n\n"
        'data: {"choices": [{"index": 0,\ndata:  "delta": {"content": "a"}}]}\n\n'
        f"data: {json.dumps(delta(content='b'))}\n"
        f"data: {json.dumps(delta('stop'))}\n\n"
        "data: [DONE]\n\n"
    ).encode()
    mock.post(f"{BASE}/chat/completions").respond(200, headers=SSE, content=body)
    assert [e.text for e in run(backend()) if isinstance(e, TextDelta)] == ["a", "b"]


def test_non_streaming_json_answer_is_accepted(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/chat/completions").respond(
        200,
        json={
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        },
    )
    events = run(backend())
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["whole"]
    assert isinstance(events[-1], Done) and events[-1].usage.prompt_tokens == 3


def test_stream_cut_short_is_an_error_after_the_partial_text(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/chat/completions").respond(200, headers=SSE, content=sse(delta(content="par"), done=False))
    seen: list[Event] = []
    with pytest.raises(BackendError, match=r"ended before the answer was complete"):
        for event in backend().chat("m", [Message(role="user", content="hi")], options=OPTS):
            seen.append(event)
    assert seen == [TextDelta(text="par")]


def test_malformed_chunk(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/chat/completions").respond(200, headers=SSE, content=b"data: {not json\n\n")
    with pytest.raises(BackendError, match="malformed stream chunk"):
        run(backend())


def test_error_object_mid_stream(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/chat/completions").respond(
        200, headers=SSE, content=sse(delta(content="x"), {"error": {"message": "CUDA out of memory"}}, done=False)
    )
    with pytest.raises(BackendError, match="mid-stream: CUDA out of memory"):
        run(backend())


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "words"),
    [
        (401, {"error": {"message": "Incorrect API key"}}, {}, AuthRequired, "OPENAI_API_KEY"),
        (404, {"error": {"message": "The model `m` does not exist."}}, {}, ModelNotFound, "agent models"),
        (404, {"detail": "Not Found"}, {}, BackendError, "usually end in /v1"),
        (429, {"error": {"message": "slow down"}}, {"Retry-After": "7"}, RateLimited, "retry in 7 s"),
        (
            400,
            {"error": {"message": "This model's maximum context length is 2048 tokens"}},
            {},
            ContextOverflow,
            "maximum context length",
        ),
        (400, {"error": "bad thing"}, {}, BackendError, "rejected the request for 'm': bad thing"),
    ],
)
def test_status_mapping(
    mock: respx.MockRouter, status: int, body: Any, headers: dict[str, str], error: type[Exception], words: str
) -> None:
    mock.post(f"{BASE}/chat/completions").respond(status, json=body, headers=headers)
    with pytest.raises(error) as info:
        run(backend())
    assert words in str(info.value)
    assert "\n" not in str(info.value)
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == 7.0


def test_5xx_is_retried_before_the_first_token(mock: respx.MockRouter) -> None:
    route = mock.post(f"{BASE}/chat/completions")
    route.side_effect = [
        httpx.Response(503, json={"error": "loading"}),
        httpx.Response(200, headers=SSE, content=sse(delta(content="ok"), delta("stop"))),
    ]
    events = run(backend())
    assert route.call_count == 2 and TextDelta(text="ok") in events


def test_5xx_gives_up_after_the_retries(mock: respx.MockRouter) -> None:
    route = mock.post(f"{BASE}/chat/completions").respond(500, text="Internal Server Error\nTraceback ...")
    with pytest.raises(BackendError, match=r"HTTP 500: Internal Server Error") as info:
        run(backend(retries=1))
    assert route.call_count == 2 and "Traceback" not in str(info.value)


def test_connection_refused_is_one_clear_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    b = OpenAIBackend({"base_url": f"127.0.0.1:{port}", "retry_backoff": 0.0})
    with pytest.raises(BackendUnavailable, match=rf"cannot connect to http://127.0.0.1:{port}/v1.*server running"):
        run(b)
    ok, detail = b.health()
    assert not ok and "cannot connect" in detail


def test_named_endpoints_route_and_claim(mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUSTER_KEY", "k-cluster")
    b = OpenAIBackend(
        {
            "endpoints": {
                "cluster": {
                    "base_url": "http://cluster.test:9000/v1",
                    "api_key_env": "CLUSTER_KEY",
                    "context_length": 8192,
                }
            }
        }
    )
    assert b.claims("cluster:qwen3:32b") and not b.claims("qwen3:32b") and not b.claims("cluster:")
    route = mock.post("http://cluster.test:9000/v1/chat/completions").respond(
        200, headers=SSE, content=sse(delta(content="hi"), delta("stop"))
    )
    run(b, "cluster:qwen3:32b")
    assert json.loads(route.calls.last.request.content)["model"] == "qwen3:32b"
    assert route.calls.last.request.headers["authorization"] == "Bearer k-cluster"
    mock.get("http://cluster.test:9000/v1/models").respond(200, json={"data": [{"id": "qwen3:32b"}]})
    info = b.describe("cluster:qwen3:32b")
    assert info.context_length == 8192 and info.remote
    with pytest.raises(BackendUnavailable, match="no OpenAI-compatible server is configured"):
        run(b, "plain-model")


def test_list_models_reads_context_length_from_the_server(mock: respx.MockRouter) -> None:
    mock.get(f"{BASE}/models").respond(
        200,
        json={
            "object": "list",
            "data": [
                {"id": "vllm-model", "max_model_len": 32768, "owned_by": "vllm"},
                {"id": "llamacpp-model", "meta": {"n_ctx_train": 8192}},
                {"id": "plain"},
            ],
        },
    )
    infos = {i.name: i for i in backend(context_length=4096).list_models()}
    assert infos["vllm-model"].context_length == 32768
    assert infos["llamacpp-model"].context_length == 8192
    assert infos["plain"].context_length == 4096
    assert all(i.backend == "openai" and i.supports_tools for i in infos.values())


def test_base_url_forms() -> None:
    from agentshell_openai.endpoints import normalize_base_url

    assert normalize_base_url("localhost:8080") == "http://localhost:8080/v1"
    assert normalize_base_url("https://api.example.com/openai/v1/") == "https://api.example.com/openai/v1"
    with pytest.raises(BackendError, match="invalid base URL"):
        normalize_base_url("ftp://x")
