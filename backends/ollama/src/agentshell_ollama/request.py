"""The JSON body of ``/api/chat``, built by hand.

The official client (0.6.x) drops tool-call ids and flattens nested tool
schemas, so what a model is told and what it is answered travels here exactly as
the agent wrote it: schemas unchanged, ids on tool calls, ``tool_name`` and
``tool_call_id`` on tool results.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentshell.protocol import ChatOptions, Message, ThinkLevel, ToolSpec, function_tool_json


def wire_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant":
        if message.thinking:
            out["thinking"] = message.thinking
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"index": index, "name": call.name, "arguments": call.arguments},
                }
                for index, call in enumerate(message.tool_calls)
            ]
    elif message.role == "tool":
        if message.name:
            out["tool_name"] = message.name
        if message.tool_call_id:
            out["tool_call_id"] = message.tool_call_id
    return out


def wire_think(level: ThinkLevel | None, can_think: bool | None) -> bool | str | None:
    """Ollama's ``think`` value, or None to leave the field out.

    Models with the thinking capability think unless told ``off``; a model
    without it is never sent ``think`` (Ollama answers 400 to ``think: true``).
    When the capability is unknown (a cloud model the server would not
    describe), only an explicit choice is sent.
    """
    if can_think is False or (can_think is None and level is None):
        return None
    if level is None or level == "on":
        return True
    if level == "off":
        return False
    return level


def wire_options(options: ChatOptions, num_ctx: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if num_ctx is not None:
        out["num_ctx"] = num_ctx
    for key, value in (
        ("temperature", options.temperature),
        ("seed", options.seed),
        ("num_predict", options.max_tokens),
        ("top_p", options.top_p),
        ("top_k", options.top_k),
    ):
        if value is not None:
            out[key] = value
    # Anything else Ollama understands (repeat_penalty, min_p, stop...) passes through untouched.
    out.update(options.extra)
    return out


def chat_body(
    model: str,
    messages: Sequence[Message],
    *,
    tools: Sequence[ToolSpec],
    options: ChatOptions,
    num_ctx: int | None,
    think: bool | str | None,
    keep_alive: str | None,
    text_tools: bool = False,
    constrain: bool = False,
) -> dict[str, Any]:
    """The request body. ``text_tools``: the model has no native tool calling, so the tools are
    described in the system prompt and earlier calls and results travel as text
    (:func:`agentshell_chatformat.text_tool_messages`); ``constrain`` then also holds the reply
    to "one call or an answer" with Ollama's ``format`` (a JSON schema it turns into a grammar).
    """
    if text_tools and tools:
        from agentshell_chatformat import text_tool_messages

        messages = text_tool_messages(messages, tools, constrained=constrain)
    body: dict[str, Any] = {
        "model": model,
        "messages": [wire_message(m) for m in messages],
        "stream": True,
    }
    if text_tools and tools:
        if constrain:
            from agentshell_chatformat import call_or_answer_schema

            body["format"] = call_or_answer_schema(tools)
    elif tools:
        body["tools"] = [function_tool_json(t) for t in tools]
    if think is not None:
        body["think"] = think
    wired = wire_options(options, num_ctx)
    if wired:
        body["options"] = wired
    if keep_alive is not None:
        body["keep_alive"] = wire_keep_alive(keep_alive)
    return body


def wire_keep_alive(value: str) -> str | float:
    """``"-1"`` or ``"300"`` must go as numbers: Ollama parses strings as Go durations ("5m")."""
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() else number
