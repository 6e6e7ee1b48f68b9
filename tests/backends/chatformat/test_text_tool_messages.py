"""text_tool_messages: a native conversation rewritten for a model without tools, and back unchanged."""

from __future__ import annotations

import json

from agentshell_chatformat import ANSWER_KEY, CallRecovery, call_or_answer_schema, text_tool_messages

from agentshell.protocol import Message, ToolCall, ToolCallRequest
from tests.backends.chatformat.toolcall_fixtures import specs

TOOLS = specs({"read_file": {"path": "string"}, "bash": {"command": "string"}})
CONVERSATION = [
    Message(role="system", content="You are terse."),
    Message(role="user", content="What is in a and b?"),
    Message(
        role="assistant",
        content="Reading both.",
        tool_calls=(
            ToolCallRequest(id="c1", name="read_file", arguments={"path": "a"}),
            ToolCallRequest(id="c2", name="read_file", arguments={"path": "b"}),
        ),
    ),
    Message(role="tool", content="alpha", tool_call_id="c1", name="read_file"),
    Message(role="tool", content="beta", tool_call_id="c2", name="read_file"),
    Message(role="assistant", content="a holds alpha, b holds beta."),
]


def test_calls_and_results_become_text_and_tools_join_the_system_prompt() -> None:
    out = text_tool_messages(CONVERSATION, TOOLS)
    assert [m.role for m in out] == ["system", "user", "assistant", "user", "assistant"]
    assert out[0].content.startswith("You are terse.\n\n") and '"name": "bash"' in out[0].content
    assert out[2].tool_calls == ()
    assert out[2].content == (
        'Reading both.\n<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "read_file", "arguments": {"path": "b"}}\n</tool_call>'
    )
    assert out[3].content == "<tool_response>\nalpha\n</tool_response>\n<tool_response>\nbeta\n</tool_response>"
    assert CONVERSATION[2].tool_calls  # the transcript itself is untouched: a native model reads it as before


def test_the_calls_written_back_are_read_again_by_the_recovery() -> None:
    written = text_tool_messages(CONVERSATION, TOOLS)[2].content
    recovery = CallRecovery(TOOLS)
    shown = "".join(e.text for e in recovery.feed(written))
    events = recovery.finish()
    assert shown == "Reading both.\n"
    assert [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)] == [
        ("read_file", {"path": "a"}),
        ("read_file", {"path": "b"}),
    ]


def test_without_a_system_message_one_is_added() -> None:
    out = text_tool_messages([Message(role="user", content="hi")], TOOLS)
    assert out[0].role == "system" and "<tool_call>" in out[0].content and out[1].content == "hi"


def test_constrained_instructions_and_schema_describe_one_json_object() -> None:
    out = text_tool_messages([Message(role="user", content="hi")], TOOLS, constrained=True)
    assert f'{{"{ANSWER_KEY}": ' in out[0].content and "<tool_call>" not in out[0].content
    schema = call_or_answer_schema(TOOLS)
    names = [option["properties"].get("name", {}).get("const") for option in schema["anyOf"]]
    assert names == ["read_file", "bash", None]
    assert schema["anyOf"][-1]["required"] == [ANSWER_KEY]
    json.dumps(schema)  # travels as JSON
