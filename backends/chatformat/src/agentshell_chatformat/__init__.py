"""Chat templates and the tool-call text format, for backends that drive text-completion engines.

Used by the gguf (llama.cpp) and builtin (numpy) backends; it has no entry
point of its own. The API in full:

``ChatTemplate(source, *, bos_token="", eos_token="")``
    Compiles a GGUF's ``tokenizer.chat_template`` (``None`` or ``""`` gives
    :data:`DEFAULT_CHATML`) in a sandboxed jinja2 environment with the helpers
    Hugging Face provides (``raise_exception``, ``strftime_now``, ``tojson``).
    ``render(messages, tools=(), add_generation_prompt=True) -> str`` turns
    :class:`agentshell.protocol.Message` objects into the prompt text.
    ``supports_tools``: the template has a ``tools`` section that teaches the
    ``<tool_call>`` format (tools are then passed to it); otherwise the tool
    descriptions go into the system prompt (:func:`tools_system_prompt`).
    ``supports_tool_role``: the template knows the ``tool`` role; otherwise tool
    results go back as ``<tool_response>…</tool_response>`` in a user turn.
    ``stop``: strings that end the assistant's turn (end-of-turn markers the
    template writes, and the EOS token).
    Errors in the template raise :class:`ChatTemplateError` (a protocol
    ``BackendError``), so the CLI shows one line.

``ToolCallParser(*, id_factory=new_call_id)``
    ``feed(text) -> list[event]`` and ``finish() -> list[event]`` turn streamed
    model output into ``TextDelta``, ``ToolCall`` and ``MalformedToolCall``
    events, hiding the ``<tool_call>`` markup. ``in_tool_call`` is true while a
    call is open, so an engine can switch to grammar-constrained decoding.
    The same input yields the same text and calls for any chunking (compare
    with :func:`coalesce`). Inside a Markdown fenced code block, a
    ``<tool_call>`` is text, not a call.

``ThinkSplitter(*, opened=False)``
    ``feed(text)`` / ``finish()`` split a reasoning model's reply into
    ``ThinkingDelta`` (a ``<think>…</think>`` block at the start of the reply)
    and ``TextDelta`` (the answer, for the ``ToolCallParser``), independently of
    chunking. ``opened=True`` when the prompt already ends with ``<think>``
    (:func:`prompt_opens_thinking`).

``CallRecovery(tools, *, id_factory=new_call_id, answer_key=None)``
    For chat servers whose reply text may hold a call their parser missed
    (Qwen's ``<function=…>`` XML, Hermes ``<tool_call>`` JSON, a bare JSON call
    as the whole reply). ``feed(text) -> [TextDelta]`` releases text as soon as it
    cannot become a call; ``finish()`` returns the rest of the text and the
    recovered ``ToolCall``/``MalformedToolCall`` events. Only ``tools`` offered
    in the request are recovered; calls in fenced code blocks among prose stay
    text. ``notice()`` is the ``--debug`` line.

``text_tool_messages(messages, tools)``
    The request for a model without native tools: calls and results as text,
    tools described in the system prompt. ``call_or_answer_schema(tools)`` is a
    JSON schema for servers that can constrain the reply (Ollama's ``format``).

``StopScanner(stops)``
    ``feed(text) -> str`` releases generated text only once it cannot be the
    start of a stop string; ``stopped`` turns true when one completes;
    ``flush()`` at the end of generation.

The text format itself (:mod:`agentshell_chatformat.toolformat`)::

    <tool_call>
    {"name": "read_file", "arguments": {"path": "README.md"}}
    </tool_call>
"""

from agentshell_chatformat.nearjson import NearJSONError, loads_lenient
from agentshell_chatformat.parser import ParserEvent, ToolCallParser, coalesce, interpret_call
from agentshell_chatformat.recovery import CallRecovery
from agentshell_chatformat.stops import StopScanner
from agentshell_chatformat.template import DEFAULT_CHATML, ChatTemplate, ChatTemplateError
from agentshell_chatformat.textmode import ANSWER_KEY, call_or_answer_schema, text_tool_messages
from agentshell_chatformat.think import THINK_CLOSE, THINK_OPEN, ThinkSplitter, prompt_opens_thinking
from agentshell_chatformat.toolformat import (
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    TOOL_RESPONSE_CLOSE,
    TOOL_RESPONSE_OPEN,
    format_tool_call,
    format_tool_response,
    new_call_id,
    tool_schema,
    tools_system_prompt,
)

__all__ = [
    "ANSWER_KEY",
    "DEFAULT_CHATML",
    "THINK_CLOSE",
    "THINK_OPEN",
    "TOOL_CALL_CLOSE",
    "TOOL_CALL_OPEN",
    "TOOL_RESPONSE_CLOSE",
    "TOOL_RESPONSE_OPEN",
    "CallRecovery",
    "ChatTemplate",
    "ChatTemplateError",
    "NearJSONError",
    "ParserEvent",
    "StopScanner",
    "ThinkSplitter",
    "ToolCallParser",
    "call_or_answer_schema",
    "coalesce",
    "format_tool_call",
    "format_tool_response",
    "interpret_call",
    "loads_lenient",
    "new_call_id",
    "prompt_opens_thinking",
    "text_tool_messages",
    "tool_schema",
    "tools_system_prompt",
]
