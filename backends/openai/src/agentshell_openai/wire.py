"""The request body of ``POST /chat/completions``, built from protocol types.

Only fields every common server accepts are sent by default; anything else
(``tool_choice``, vendor knobs) comes from ``ChatOptions.extra`` or the backend's
``extra_body`` option, merged last so the user can override.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from agentshell.protocol import ChatOptions, Message, ToolSpec, function_tool_json

_EFFORTS = {"low": "low", "medium": "medium", "high": "high"}


def message_json(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        # Every server requires tool_call_id; a transcript from a backend without ids falls back to the name.
        return {
            "role": "tool",
            "tool_call_id": message.tool_call_id or message.name or "call_0",
            "content": message.content,
        }
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)},
            }
            for call in message.tool_calls
        ]
    return out


def request_body(
    model: str,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    options: ChatOptions,
    *,
    stream_usage: bool = True,
    extra_body: Mapping[str, Any] | None = None,
    text_tools: bool = False,
) -> dict[str, Any]:
    """``text_tools``: the server refused ``tools`` for this model, so they are described in the
    system prompt and calls and results travel as text (:func:`agentshell_chatformat.text_tool_messages`).
    """
    if text_tools and tools:
        from agentshell_chatformat import text_tool_messages

        messages, tools = text_tool_messages(messages, tools), ()
    body: dict[str, Any] = {
        "model": model,
        "messages": [message_json(m) for m in messages],
        "stream": True,
    }
    if stream_usage:
        body["stream_options"] = {"include_usage": True}
    if tools:
        body["tools"] = [function_tool_json(t) for t in tools]
    if options.temperature is not None:
        body["temperature"] = options.temperature
    if options.top_p is not None:
        body["top_p"] = options.top_p
    if options.top_k is not None:
        body["top_k"] = options.top_k  # vLLM and llama.cpp accept it; only sent when asked for
    if options.seed is not None:
        body["seed"] = options.seed
    if options.max_tokens is not None:
        body["max_tokens"] = options.max_tokens
    if options.think in _EFFORTS:
        body["reasoning_effort"] = _EFFORTS[options.think]
    body.update(extra_body or {})
    body.update(options.extra)
    if text_tools:
        for key in ("tool_choice", "parallel_tool_calls"):  # meaningless, and refused, without tools
            body.pop(key, None)
    return body
