"""The exact JSON sent to /api/chat: schemas unchanged, tool-call ids, tool results, think, options, num_ctx."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
import respx
from agentshell_ollama import OllamaBackend

from agentshell.protocol import ChatOptions, Event, Message, Notice, ToolCallRequest, ToolSpec

HOST = "http://127.0.0.1:11434"
DONE = b'{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}\n'

WEATHER = ToolSpec(
    name="get_weather",
    description="Get the weather in a given city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city to get the weather for"}},
        "required": ["city"],
    },
)

# Nested objects, arrays of objects, enums, required at every level, $defs: what the official client flattens.
NESTED = {
    "type": "object",
    "properties": {
        "edits": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "range": {
                        "type": "object",
                        "properties": {"start": {"type": "integer", "minimum": 1}, "end": {"type": "integer"}},
                        "required": ["start", "end"],
                        "additionalProperties": False,
                    },
                    "mode": {"type": "string", "enum": ["replace", "insert", "delete"]},
                },
                "required": ["path", "mode"],
            },
        },
        "options": {"$ref": "#/$defs/Options"},
    },
    "required": ["edits"],
    "$defs": {"Options": {"type": "object", "properties": {"dry_run": {"type": "boolean", "default": False}}}},
}


def chat_body(
    backend: OllamaBackend,
    model: str,
    messages: Sequence[Message],
    *,
    tools: Sequence[ToolSpec] = (),
    options: ChatOptions | None = None,
    show: dict[str, Any],
    host: str = HOST,
) -> tuple[dict[str, Any], list[Event], httpx.Request]:
    with respx.mock(base_url=host, assert_all_called=False) as router:
        router.post("/api/show").mock(return_value=httpx.Response(200, json=show))
        chat = router.post("/api/chat").mock(return_value=httpx.Response(200, content=DONE))
        events = list(backend.chat(model, messages, tools=tools, options=options or ChatOptions()))
    request = chat.calls.last.request
    return json.loads(request.content), events, request


def test_tools_request_matches_ollamas_example(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    expected = wire.json("chat-tools-stream-request.json")
    body, _, _ = chat_body(
        make_backend(),
        "llama3.2",
        [Message(role="user", content="what is the weather in tokyo?")],
        tools=[WEATHER],
        show=show(context=8192),
    )
    assert body == {**expected, "options": {"num_ctx": 8192}}


def test_user_agent_carries_the_agents_version(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    hi = [Message(role="user", content="hi")]
    _, _, request = chat_body(make_backend(), "llama3.2", hi, show=show(context=8192))
    assert request.headers["user-agent"] == "agentshell/test"  # the Host's version (conftest.make_backend)
    _, _, request = chat_body(OllamaBackend({"host": HOST}), "llama3.2", hi, show=show(context=8192))
    assert request.headers["user-agent"] == "agentshell"  # built without the agent's host


def test_nested_tool_schema_is_sent_unchanged(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    spec = ToolSpec(name="apply_edits", description="Apply edits", parameters=copy.deepcopy(NESTED))
    body, _, _ = chat_body(make_backend(), "qwen3", [Message(role="user", content="go")], tools=[spec], show=show())
    assert body["tools"] == [
        {"type": "function", "function": {"name": "apply_edits", "description": "Apply edits", "parameters": NESTED}}
    ]


def test_tool_history_carries_ids_and_tool_names(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    messages = [
        Message(role="user", content="what is the weather in Toronto?"),
        Message(
            role="assistant",
            content="",
            tool_calls=(ToolCallRequest(id="call_k3x9q2mf", name="get_weather", arguments={"city": "Toronto"}),),
        ),
        Message(role="tool", content="11 degrees celsius", name="get_weather", tool_call_id="call_k3x9q2mf"),
    ]
    body, _, _ = chat_body(make_backend(), "llama3.2", messages, tools=[WEATHER], show=show(context=8192))

    expected = wire.json("chat-tool-result-followup-request.json")
    call = expected["messages"][1]["tool_calls"][0]
    call.update({"id": "call_k3x9q2mf", "type": "function"})
    call["function"]["index"] = 0
    expected["messages"][2]["tool_call_id"] = "call_k3x9q2mf"
    expected.update({"stream": True, "options": {"num_ctx": 8192}})
    assert body == expected


def test_parallel_tool_results_keep_order_index_and_ids(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    example = wire.json("chat-tool-parallel-followup-request.json")
    calls = example["messages"][1]["tool_calls"]
    messages = [
        Message(role="user", content=example["messages"][0]["content"]),
        Message(
            role="assistant",
            tool_calls=tuple(
                ToolCallRequest(id=f"call_{i}", name=c["function"]["name"], arguments=c["function"]["arguments"])
                for i, c in enumerate(calls)
            ),
        ),
        *(
            Message(role="tool", content=m["content"], name=m["tool_name"], tool_call_id=f"call_{i}")
            for i, m in enumerate(example["messages"][2:])
        ),
    ]
    body, _, _ = chat_body(make_backend(), "qwen3", messages, show=show(context=40960))
    for i, call in enumerate(calls):
        call["id"] = f"call_{i}"
    for i, message in enumerate(example["messages"][2:]):
        message["tool_call_id"] = f"call_{i}"
    example["messages"][1]["content"] = ""
    example.update({"stream": True, "options": {"num_ctx": 40960}})
    assert body == example


@pytest.mark.parametrize(
    ("level", "sent"),
    [(None, True), ("on", True), ("off", False), ("low", "low"), ("medium", "medium"), ("high", "high")],
)
def test_think_for_thinking_models(
    level: Any, sent: Any, make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    expected = wire.json("chat-thinking-stream-request.json")
    body, events, _ = chat_body(
        make_backend(),
        "qwen3",
        [Message(role="user", content="What is 17 × 23?")],
        options=ChatOptions(think=level),
        show=show(arch="qwen3", context=40960, capabilities=("completion", "tools", "thinking")),
    )
    assert body == {**expected, "think": sent, "options": {"num_ctx": 40960}}
    assert not [e for e in events if isinstance(e, Notice)]


def test_no_think_for_models_that_cannot(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    body, events, _ = chat_body(
        make_backend(), "llama3.2", [Message(role="user", content="hi")], options=ChatOptions(think="high"), show=show()
    )
    assert "think" not in body
    assert [e.text for e in events if isinstance(e, Notice)] == [
        "llama3.2 has no thinking capability; answering without thinking"
    ]


def test_generation_options_and_keep_alive(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    options = ChatOptions(
        temperature=0.2, seed=7, max_tokens=256, top_p=0.9, top_k=40, keep_alive="10m", extra={"repeat_penalty": 1.1}
    )
    body, _, _ = chat_body(
        make_backend(), "llama3.2", [Message(role="user", content="hi")], options=options, show=show()
    )
    assert body["options"] == {
        "num_ctx": 8192,
        "temperature": 0.2,
        "seed": 7,
        "num_predict": 256,
        "top_p": 0.9,
        "top_k": 40,
        "repeat_penalty": 1.1,
    }
    assert body["keep_alive"] == "10m"
    body, _, _ = chat_body(make_backend(keep_alive="-1"), "llama3.2", [Message(role="user", content="hi")], show=show())
    assert body["keep_alive"] == -1  # a Go duration string cannot be "-1": it must go as a number


@pytest.mark.parametrize(
    ("model", "trained", "max_context", "requested", "expected"),
    [
        ("qwen3", 131072, None, None, 65536),  # local: capped at the default maximum
        ("qwen3", 131072, 32768, None, 32768),  # local: capped at a configured maximum
        ("llama3.2", 8192, None, None, 8192),  # local: never above what the model was trained on
        ("llama3.2", None, None, None, 65536),  # local, unknown training length: the maximum
        ("qwen3.5:397b-cloud", 262144, None, None, 262144),  # cloud: the full length
        ("qwen3", 131072, None, 4096, 4096),  # ChatOptions.context_length wins
    ],
)
def test_num_ctx_on_every_request(
    model: str,
    trained: int | None,
    max_context: int | None,
    requested: int | None,
    expected: int,
    make_backend: Callable[..., OllamaBackend],
    show: Callable[..., dict[str, Any]],
) -> None:
    backend = make_backend(**({"max_context": max_context} if max_context else {}))
    body, _, _ = chat_body(
        backend,
        model,
        [Message(role="user", content="hi")],
        options=ChatOptions(context_length=requested),
        show=show(arch="qwen3", context=trained),
    )
    assert body["options"]["num_ctx"] == expected


def test_num_ctx_stays_constant_within_a_session(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    backend = make_backend()
    first, _, _ = chat_body(backend, "qwen3", [Message(role="user", content="a")], show=show(context=32768))
    second, _, _ = chat_body(backend, "qwen3", [Message(role="user", content="b")], show=show(context=4096))
    assert first["options"]["num_ctx"] == second["options"]["num_ctx"] == 32768


def test_direct_cloud_maps_the_name_and_sends_the_key(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    backend = make_backend(host="https://ollama.com", api_key="sk-test")
    body, events, request = chat_body(
        backend,
        "gpt-oss:120b-cloud",
        [Message(role="user", content="hi")],
        show=show(arch="gptoss", context=131072, capabilities=("completion", "tools", "thinking")),
        host="https://ollama.com",
    )
    assert body["model"] == "gpt-oss:120b"
    assert body["options"]["num_ctx"] == 131072
    assert request.headers["authorization"] == "Bearer sk-test"
    assert isinstance(events[0], Notice) and events[0].level == "warning"


@pytest.mark.parametrize(("status", "error"), [(404, "model not found"), (405, "method not allowed")])
def test_cloud_model_without_show_sends_no_num_ctx(
    status: int, error: str, make_backend: Callable[..., OllamaBackend]
) -> None:
    backend = make_backend()
    with respx.mock(base_url=HOST) as router:
        router.post("/api/show").mock(return_value=httpx.Response(status, json={"error": error}))
        chat = router.post("/api/chat").mock(return_value=httpx.Response(200, content=DONE))
        list(backend.chat("kimi-k2:1t-cloud", [Message(role="user", content="hi")], options=ChatOptions()))
        list(backend.chat("kimi-k2:1t-cloud", [Message(role="user", content="hi")], options=ChatOptions(think="high")))
    unset, chosen = (json.loads(call.request.content) for call in chat.calls)
    assert "options" not in unset and "think" not in unset  # the server's defaults
    assert chosen["think"] == "high"  # capability unknown: the user's explicit choice goes through


def test_debug_says_what_is_sent(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    _, events, _ = chat_body(
        make_backend(debug=True), "llama3.2", [Message(role="user", content="hi")], tools=[WEATHER], show=show()
    )
    info = [e.text for e in events if isinstance(e, Notice) and e.level == "info"]
    assert len(info) == 1
    assert info[0].startswith(
        "POST http://127.0.0.1:11434/api/chat model=llama3.2 messages=1 tools=1 num_ctx=8192 think=unset bytes="
    )


def test_api_key_never_travels_over_plain_http(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    _, _, request = chat_body(
        make_backend(api_key="sk-test"), "llama3.2", [Message(role="user", content="hi")], show=show()
    )
    assert "authorization" not in request.headers
    _, _, request = chat_body(
        make_backend(host="https://gpu-box", api_key="sk-test"),
        "llama3.2",
        [Message(role="user", content="hi")],
        show=show(),
        host="https://gpu-box",
    )
    assert request.headers["authorization"] == "Bearer sk-test"
