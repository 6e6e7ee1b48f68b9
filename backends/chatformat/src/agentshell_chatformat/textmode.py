"""A conversation for a chat server whose model cannot take ``tools``: the text tool format instead.

Ollama answers "does not support tools" for a model without the ``tools``
capability, and some OpenAI-compatible servers reject ``tools`` (vLLM without a
tool parser, llama-server without ``--jinja``). Such a model can still act: the
tools are described in the system prompt (:func:`tools_system_prompt`), earlier
calls are written back into the assistant turns as ``<tool_call>`` text and
results go back as ``<tool_response>`` in a user turn, and the calls are read
from the reply by :class:`agentshell_chatformat.recovery.CallRecovery`.

Only the request is rewritten: the transcript keeps native tool calls and tool
messages, so the same conversation carries on unchanged when the user switches
to a model with native tools.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agentshell.protocol import Message, ToolSpec
from agentshell_chatformat.toolformat import format_tool_call, format_tool_response, tool_schema, tools_system_prompt

ANSWER_KEY = "answer"


def call_or_answer_prompt(tools: Sequence[ToolSpec]) -> str:
    """The system instructions that go with :func:`call_or_answer_schema`: every reply is one JSON object."""
    listing = "\n".join(json.dumps(tool_schema(t), ensure_ascii=False) for t in tools)
    return (
        "You may call one of the functions listed within <tools></tools> XML tags:\n"
        f"<tools>\n{listing}\n</tools>\n\n"
        'Reply with exactly one JSON object: {"name": <function-name>, "arguments": <args-json-object>} '
        f'to call a function, or {{"{ANSWER_KEY}": <your answer as a string>}} to answer the user. '
        "Function results come back within <tool_response></tool_response> XML tags."
    )


def text_tool_messages(
    messages: Sequence[Message], tools: Sequence[ToolSpec], *, constrained: bool = False
) -> list[Message]:
    """``messages`` with tool calls and results as text, and the tools described in the system message.

    ``constrained``: the reply is held to :func:`call_or_answer_schema`, so the
    instructions describe that JSON shape instead of ``<tool_call>`` tags.
    """
    out: list[Message] = []
    in_results = False  # results of one batch of calls share one user turn
    for message in messages:
        if message.role == "tool":
            response = format_tool_response(message.content)
            if in_results:
                out[-1] = out[-1].model_copy(update={"content": f"{out[-1].content}\n{response}"})
            else:
                out.append(Message(role="user", content=response))
                in_results = True
            continue
        in_results = False
        if message.role == "assistant" and message.tool_calls:
            calls = "\n".join(format_tool_call(call) for call in message.tool_calls)
            content = f"{message.content}\n{calls}" if message.content else calls
            out.append(message.model_copy(update={"content": content, "tool_calls": ()}))
        else:
            out.append(message)
    if tools:
        instructions = call_or_answer_prompt(tools) if constrained else tools_system_prompt(tools)
        if out and out[0].role == "system":
            system = out[0].content
            out[0] = out[0].model_copy(update={"content": f"{system}\n\n{instructions}" if system else instructions})
        else:
            out.insert(0, Message(role="system", content=instructions))
    return out


def call_or_answer_schema(tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """A JSON schema for "one call to an offered tool, or a plain answer", for servers that constrain output.

    Ollama's ``format`` turns it into a grammar. The answer comes back as
    ``{"answer": "..."}``, which :class:`~agentshell_chatformat.recovery.CallRecovery`
    unwraps when given ``answer_key=ANSWER_KEY``.
    """
    calls: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {"name": {"const": tool.name}, "arguments": tool.parameters},
            "required": ["name", "arguments"],
        }
        for tool in tools
    ]
    answer = {"type": "object", "properties": {ANSWER_KEY: {"type": "string"}}, "required": [ANSWER_KEY]}
    return {"anyOf": [*calls, answer]}
