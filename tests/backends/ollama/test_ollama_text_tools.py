"""Tool calls Ollama returned as content are recovered; models without tools get the text tool format.

The field reports of tests/fixtures/toolcall_text go through the real stream
decoder cut at every position, and through the backend against the fake daemon.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agentshell_ollama import OllamaBackend
from agentshell_ollama.stream import ChatStreamDecoder
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
from tests.backends.ollama.conftest import fake_server, show_body

FIELD = field_cases()
USER = [Message(role="user", content="Create test.txt")]
TOOLS = specs({"bash": {"command": "string"}, "read_file": {"path": "string"}})


def line(content: str = "", done: bool = False, **message: Any) -> str:
    chunk: dict[str, Any] = {
        "model": "m",
        "message": {"role": "assistant", "content": content, **message},
        "done": done,
    }
    if done:
        chunk.update(done_reason="stop", prompt_eval_count=12, eval_count=7)
    return json.dumps(chunk)


def decode(pieces: list[str], case_tools: Any, debug: bool = False) -> list[Any]:
    from agentshell_chatformat import CallRecovery

    decoder = ChatStreamDecoder(model="m", recovery=CallRecovery(case_tools), debug=debug)
    events: list[Any] = []
    for piece in pieces:
        events.extend(decoder.feed(line(piece)))
    events.extend(decoder.feed(line(done=True)))
    return events


def outcome(events: list[Any]) -> tuple[list[tuple[str, dict[str, Any]]], str, str]:
    calls = [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)]
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    done = events[-1]
    assert isinstance(done, Done)
    return calls, text, done.stop_reason


@pytest.mark.parametrize("case", FIELD, ids=lambda c: c.name)
def test_field_report_in_ollama_content_at_every_split(case: FieldCase) -> None:
    for cut in range(len(case.text) + 1):
        calls, text, stop = outcome(decode([case.text[:cut], case.text[cut:]], case.tools))
        assert (calls, text, stop) == (case.calls, case.shown, "tool_calls"), cut


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FIELD), st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_field_report_under_any_chunking(case: FieldCase, cuts: list[int]) -> None:
    points = sorted({min(c, len(case.text)) for c in cuts})
    pieces = [case.text[a:b] for a, b in zip([0, *points], [*points, len(case.text)], strict=True)]
    assert outcome(decode(pieces, case.tools)) == (case.calls, case.shown, "tool_calls")


@pytest.mark.parametrize(("name", "text"), ordinary_answers(), ids=[n for n, _ in ordinary_answers()])
def test_ordinary_answer_stays_text(name: str, text: str) -> None:
    calls, shown, stop = outcome(decode(list(text), ordinary_tools()))
    assert (calls, shown, stop) == ([], text, "stop")


def test_debug_says_a_call_was_recovered() -> None:
    case = next(c for c in FIELD if c.name == "ollama-14745.txt")
    events = decode([case.text], case.tools, debug=True)
    notices = [e for e in events if isinstance(e, Notice)]
    assert [n.text for n in notices] == ["recovered 1 tool call from text: bash"]
    assert not any(isinstance(e, Notice) for e in decode([case.text], case.tools, debug=False))


# --------------------------------------------------------------------------- through the backend and the fake daemon


def chat(backend: OllamaBackend, model: str, messages: list[Message] = USER, tools: Any = TOOLS) -> list[Event]:
    return list(backend.chat(model, messages, tools=tools, options=ChatOptions()))


def test_qwen_xml_content_becomes_a_call_end_to_end(fake: Any, make_backend: Callable[..., OllamaBackend]) -> None:
    case = next(c for c in FIELD if c.name == "continue-13057.txt")
    pieces = [case.text[i : i + 5] for i in range(0, len(case.text), 5)]
    fake.script("POST", "/api/chat", fake_server.Reply(lines=[line(p) for p in pieces] + [line(done=True)]))
    events = chat(make_backend(fake.url, debug=True), "qwen3-coder:30b", tools=case.tools)
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in calls] == case.calls
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == case.shown
    assert any(isinstance(e, Notice) and e.text.startswith("recovered 1 tool call") for e in events)
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "tool_calls"


def test_a_malformed_recovered_call_goes_back_to_the_model(
    fake: Any, make_backend: Callable[..., OllamaBackend]
) -> None:
    broken = '<tool_call>\n{"name": "bash", "arguments": {"command": "ls"\n</tool_call>'
    fake.script("POST", "/api/chat", fake_server.Reply(lines=[line(broken), line(done=True)]))
    events = chat(make_backend(fake.url), "qwen3.5:9b")
    malformed = [e for e in events if isinstance(e, MalformedToolCall)]
    assert len(malformed) == 1 and malformed[0].name == "bash" and "could not read" in malformed[0].error
    assert not any(isinstance(e, TextDelta) for e in events)


def test_model_without_the_tools_capability_gets_the_text_format(
    fake: Any, make_backend: Callable[..., OllamaBackend]
) -> None:
    fake.script("POST", "/api/show", fake_server.Reply(body=show_body(arch="gemma2", capabilities=("completion",))))
    reply = '<tool_call>\n{"name": "bash", "arguments": {"command": "ls"}}\n</tool_call>'
    fake.script("POST", "/api/chat", fake_server.Reply(lines=[line(reply), line(done=True)]))
    backend = make_backend(fake.url)
    first = chat(backend, "gemma2:2b")
    second = chat(backend, "gemma2:2b")
    notices = [e.text for e in first + second if isinstance(e, Notice)]
    assert notices == [
        "gemma2:2b has no native tool calling in Ollama: its tools are described in the prompt "
        "and its calls read from its text"
    ]  # once per model
    assert [(e.name, e.arguments) for e in first if isinstance(e, ToolCall)] == [("bash", {"command": "ls"})]
    body = fake.bodies("/api/chat")[0]
    assert "tools" not in body and "format" not in body
    assert body["messages"][0]["role"] == "system" and '"name": "read_file"' in body["messages"][0]["content"]


def test_does_not_support_tools_switches_to_the_text_format_and_retries(
    fake: Any, make_backend: Callable[..., OllamaBackend], wire: Any
) -> None:
    refusal = fake_server.Reply(status=400, body=wire.json("errors/400-does-not-support-tools.json"))
    answer = fake_server.Reply(lines=[line('{"name": "read_file", "arguments": {"path": "a.txt"}}'), line(done=True)])
    fake.script("POST", "/api/chat", refusal, answer)
    events = chat(make_backend(fake.url), "llava")
    assert [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)] == [("read_file", {"path": "a.txt"})]
    assert any(isinstance(e, Notice) and "no native tool calling" in e.text for e in events)
    native, text = fake.bodies("/api/chat")
    assert "tools" in native and "tools" not in text


def test_without_tools_offered_the_refusal_stays_an_error(
    fake: Any, make_backend: Callable[..., OllamaBackend], wire: Any
) -> None:
    fake.script(
        "POST", "/api/chat", fake_server.Reply(status=400, body=wire.json("errors/400-does-not-support-tools.json"))
    )
    with pytest.raises(ToolsUnsupported):
        chat(make_backend(fake.url), "llava", tools=())


def test_constrained_text_tools_send_a_schema_and_unwrap_the_answer(
    fake: Any, make_backend: Callable[..., OllamaBackend]
) -> None:
    fake.script("POST", "/api/show", fake_server.Reply(body=show_body(capabilities=("completion",))))
    fake.script("POST", "/api/chat", fake_server.Reply(lines=[line('{"answer": "Hello'), line('!"}'), line(done=True)]))
    events = chat(make_backend(fake.url, constrain_text_tools="true"), "gemma2:2b")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello!"
    body = fake.bodies("/api/chat")[0]
    schema = body["format"]
    assert [o["properties"].get("name", {}).get("const") for o in schema["anyOf"]] == ["bash", "read_file", None]
    assert '{"answer": ' in body["messages"][0]["content"]


def test_the_conversation_carries_on_with_a_model_with_native_tools(
    fake: Any, make_backend: Callable[..., OllamaBackend]
) -> None:
    # The turn of a text-format model, as the agent stores it: a native call and a tool result.
    transcript = [
        *USER,
        Message(role="assistant", tool_calls=(ToolCallRequest(id="call_1", name="bash", arguments={"command": "ls"}),)),
        Message(role="tool", content="a.txt", tool_call_id="call_1", name="bash"),
    ]
    fake.script(
        "POST",
        "/api/show",
        fake_server.Reply(body=show_body(capabilities=("completion",))),
        fake_server.Reply(body=show_body(capabilities=("completion", "tools"))),
    )
    fake.script("POST", "/api/chat", fake_server.Reply(lines=[line("Done."), line(done=True)]))
    backend = make_backend(fake.url)
    chat(backend, "gemma2:2b", transcript)
    chat(backend, "qwen3:8b", transcript)
    as_text, native = fake.bodies("/api/chat")
    assert [m["role"] for m in as_text["messages"]] == ["system", "user", "assistant", "user"]
    assert "<tool_call>" in as_text["messages"][2]["content"] and "<tool_response>" in as_text["messages"][3]["content"]
    assert [m["role"] for m in native["messages"]] == ["user", "assistant", "tool"]
    assert native["messages"][1]["tool_calls"][0]["function"]["name"] == "bash" and "tools" in native


# --------------------------------------------------------------------------- the whole path, through `agent`

WRITE = (
    "I'll write it.\n<function=write_file>\n<parameter=path>\nnotes.txt\n</parameter>\n"
    "<parameter=content>\nhi\n</parameter>\n</function>"
)


@pytest.mark.slow  # real `agent` processes
@pytest.mark.parametrize(("mode", "written"), [("read-only", False), ("accept-edits", True)])
def test_a_recovered_call_meets_the_permission_gate(fake: Any, tmp_path: Path, mode: str, written: bool) -> None:
    fake.script(
        "POST",
        "/api/chat",
        fake_server.Reply(lines=[line(WRITE), line(done=True)]),
        fake_server.Reply(lines=[line("Finished."), line(done=True)]),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_", "OLLAMA_"))}
    argv = ["launch", "-p", "Write hi to notes.txt", "--model", "qwen3-coder:30b", "--host", fake.url]
    argv += ["--permission-mode", mode, "--output-format", "stream-json", "--debug"]
    done = subprocess.run(
        [sys.executable, "-m", "agentshell", *argv], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(row) for row in done.stdout.splitlines() if row.startswith("{")]
    shown = "".join(e["text"] for e in events if e["type"] == "text")
    assert "<function=" not in shown and "I'll write it." in shown
    calls = [e for e in events if e["type"] == "tool_call"]
    results = [e for e in events if e["type"] == "tool_result"]
    assert [c["name"] for c in calls] == ["write_file"] and len(results) == 1
    assert (tmp_path / "notes.txt").exists() is written
    assert results[0]["is_error"] is not written
    assert "recovered 1 tool call from text: write_file" in done.stderr  # --debug says so
