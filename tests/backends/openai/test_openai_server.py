"""The openai backend against a real server: llama-cpp-python's OpenAI-compatible server with SmolLM2."""

from __future__ import annotations

import pytest
from agentshell_openai import OpenAIBackend

from agentshell.protocol import AuthRequired, BackendError, ChatOptions, Done, Message, TextDelta, ToolCall, ToolSpec

pytestmark = pytest.mark.slow

WEATHER = ToolSpec(
    name="get_weather",
    description="Get the current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def test_streamed_chat(llama_server: dict[str, str]) -> None:
    backend = OpenAIBackend({**llama_server, "context_length": 2048})
    events = list(
        backend.chat(
            "smollm2", [Message(role="user", content="Say hello.")], options=ChatOptions(temperature=0.0, max_tokens=12)
        )
    )
    texts = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(texts) >= 2 and "".join(texts).strip()  # streamed in pieces, not one block
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason in ("stop", "length")
    models = backend.list_models()
    assert models and models[0].name.endswith(".gguf") and models[0].context_length == 2048
    assert backend.health()[0]


def test_tool_call(llama_server: dict[str, str]) -> None:
    # This server cannot stream with tool_choice "auto" (see test below), so the call is forced.
    backend = OpenAIBackend(
        {**llama_server, "extra_body": {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}}
    )
    events = list(
        backend.chat(
            "smollm2",
            [Message(role="user", content="What is the weather in Paris?")],
            tools=[WEATHER],
            options=ChatOptions(temperature=0.0, max_tokens=40),
        )
    )
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert isinstance(calls[0].arguments.get("city"), str)
    assert isinstance(events[-1], Done) and events[-1].stop_reason == "tool_calls"


def test_wrong_key_is_auth_required(llama_server: dict[str, str]) -> None:
    backend = OpenAIBackend({**llama_server, "api_key": "wrong"})
    with pytest.raises(AuthRequired, match="unauthorised: Invalid API key"):
        list(backend.chat("smollm2", [Message(role="user", content="hi")], options=ChatOptions(max_tokens=4)))


def test_server_failing_mid_stream_is_a_cut_stream(llama_server: dict[str, str]) -> None:
    # llama-cpp-python raises inside the stream for tool_choice "auto", after sending 200: the body just ends.
    backend = OpenAIBackend({**llama_server, "retries": 0, "extra_body": {"tool_choice": "auto"}})
    with pytest.raises(BackendError, match=r"ended before the answer was complete"):
        list(
            backend.chat(
                "smollm2",
                [Message(role="user", content="Weather in Paris?")],
                tools=[WEATHER],
                options=ChatOptions(max_tokens=8),
            )
        )
