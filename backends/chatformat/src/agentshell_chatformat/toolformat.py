"""The tool-call text format shared by every text-completion backend (ARCHITECTURE.md).

A model calls a tool by writing::

    <tool_call>
    {"name": "read_file", "arguments": {"path": "README.md"}}
    </tool_call>

and reads the result in ``<tool_response>…</tool_response>`` when its chat
template has no ``tool`` role. This is the Hermes/Qwen/SmolLM convention, so
models trained on it need no extra teaching; the system prompt below is the one
those models were trained with, lightly shortened.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence

from agentshell.protocol import ToolCallRequest, ToolSpec, function_tool_json

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"
TOOL_RESPONSE_OPEN = "<tool_response>"
TOOL_RESPONSE_CLOSE = "</tool_response>"

_ID_ALPHABET = string.ascii_letters + string.digits


def new_call_id() -> str:
    """``call_`` plus 8 random characters: unique enough within one conversation, short in transcripts."""
    import secrets  # loads OpenSSL: only when a call is made, not when a backend is imported

    return "call_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


tool_schema = function_tool_json
"""The ``{"type": "function", ...}`` shape chat templates expect: the protocol's one builder, under the name
chatformat has always exported."""


def tools_system_prompt(tools: Sequence[ToolSpec]) -> str:
    """Instructions for templates without a ``tools`` section; appended to the system message."""
    listing = "\n".join(json.dumps(function_tool_json(t), ensure_ascii=False) for t in tools)
    return (
        "You may call one or more functions to assist with the user query. "
        "The available functions are listed within <tools></tools> XML tags:\n"
        f"<tools>\n{listing}\n</tools>\n\n"
        "To call a function, write a JSON object with the function name and its arguments "
        "within <tool_call></tool_call> XML tags:\n"
        f'{TOOL_CALL_OPEN}\n{{"name": <function-name>, "arguments": <args-json-object>}}\n{TOOL_CALL_CLOSE}\n'
        "The result comes back within <tool_response></tool_response> XML tags."
    )


def format_tool_call(call: ToolCallRequest) -> str:
    """How an earlier call is written back into an assistant turn, byte-for-byte what the model emits."""
    body = json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
    return f"{TOOL_CALL_OPEN}\n{body}\n{TOOL_CALL_CLOSE}"


def format_tool_response(content: str) -> str:
    return f"{TOOL_RESPONSE_OPEN}\n{content}\n{TOOL_RESPONSE_CLOSE}"
