"""Server-sent events of ``/chat/completions`` turned into protocol events.

Two layers: :func:`sse_payloads` reads the SSE framing (``data:`` lines,
comments used as keep-alive pings, blank-line dispatch), and
:class:`ChunkAssembler` reads the JSON chunks: text and reasoning deltas go out
at once, tool calls are collected from their fragments by ``index`` and go out
whole when the choice finishes.

Servers bend the format in small ways, all accepted here: llama.cpp's server
repeats the id and name in every fragment, some servers omit ``index``, some
send ``arguments`` as an object rather than a string, reasoning arrives as
``reasoning_content`` (DeepSeek, vLLM, llama.cpp) or ``reasoning`` (Ollama, newer vLLM).

A call the server's parser missed arrives as content (Qwen's ``<function=…>``
XML, a bare JSON object). When tools were offered, the content goes through
:class:`agentshell_chatformat.CallRecovery`: text that may still become a call is
held back, and :meth:`ChunkAssembler.finish` hands out the calls read from it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentshell.protocol import (
    BackendError,
    Event,
    MalformedToolCall,
    StopReason,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from agentshell_openai.errors import one_line, server_message

if TYPE_CHECKING:
    from agentshell_chatformat import CallRecovery

DONE_SENTINEL = "[DONE]"


def sse_payloads(lines: Iterable[str]) -> Iterator[str]:
    """The ``data`` of each event; multi-line data is joined with newlines, as the SSE spec says."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # comment: keep-alive ping
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
        # "event", "id", "retry" carry nothing the chat stream needs.
    if data:
        yield "\n".join(data)


@dataclass
class _PartialCall:
    index: int
    id: str | None = None
    name: str | None = None
    parts: list[str] = field(default_factory=list)
    whole: dict[str, Any] | None = None  # arguments sent as an object, not a string


class ChunkAssembler:
    """State of one streamed answer. ``where`` names the server in error lines.

    ``tools``: the tools offered, whose calls are recovered from the content;
    ``debug``: :meth:`finish` adds a notice saying so.
    """

    def __init__(self, where: str, *, tools: Sequence[ToolSpec] = (), debug: bool = False) -> None:
        self.where = where
        self.recovery: CallRecovery | None = None
        if tools:
            from agentshell_chatformat import CallRecovery  # only when tools are offered: start-up stays light

            self.recovery = CallRecovery(tools)
        self.debug = debug
        self.called = False  # the answer held a call: native, or recovered from the text
        self.calls: dict[int, _PartialCall] = {}
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.server_timings: dict[str, Any] | None = None
        self.saw_done = False
        self.saw_content = False

    # ------------------------------------------------------------------ input

    def feed(self, payload: str) -> list[Event]:
        """Events produced by one SSE payload. Raises :class:`BackendError` on an error or unreadable chunk."""
        if payload.strip() == DONE_SENTINEL:
            self.saw_done = True
            return []
        chunks = self._decode(payload)
        events: list[Event] = []
        for chunk in chunks:
            events.extend(self._chunk(chunk))
        return events

    def _decode(self, payload: str) -> list[dict[str, Any]]:
        try:
            data = json.loads(payload)
        except ValueError:
            # Some servers omit the blank line between events, so two chunks arrive as one multi-line payload.
            data = None
            if "\n" in payload:
                try:
                    data = [json.loads(part) for part in payload.splitlines() if part.strip()]
                except ValueError:
                    data = None
            if data is None:
                raise BackendError(
                    f"{self.where} sent a malformed stream chunk: {one_line(payload)[:120]!r}",
                    hint="the server is not speaking the OpenAI streaming format; check the base URL",
                ) from None
            return [d for d in data if isinstance(d, dict)]
        if not isinstance(data, dict):
            raise BackendError(
                f"{self.where} sent a stream chunk that is not a JSON object: {one_line(payload)[:120]!r}"
            )
        return [data]

    def _chunk(self, chunk: dict[str, Any]) -> list[Event]:
        if chunk.get("error"):
            detail = server_message(json.dumps(chunk))
            raise BackendError(
                f"{self.where} reported an error mid-stream: {detail}",
                hint="the partial answer was kept; retry the request",
            )
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
            )
        timings = chunk.get("timings")
        if isinstance(timings, dict):
            self.server_timings = timings
        events: list[Event] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) not in (0, None):
                continue  # n > 1 is never requested; ignore stray choices
            delta = choice.get("delta")
            if delta is None:
                delta = choice.get("message")  # a whole (non-streamed) completion
            if isinstance(delta, dict):
                events.extend(self._delta(delta))
            reason = choice.get("finish_reason")
            if reason:
                self.finish_reason = str(reason)
        return events

    def _delta(self, delta: dict[str, Any]) -> list[Event]:
        events: list[Event] = []
        thinking = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(thinking, str) and thinking:
            self.saw_content = True
            events.append(ThinkingDelta(text=thinking))
        text = delta.get("content")
        if isinstance(text, str) and text:
            self.saw_content = True
            events.extend(self.recovery.feed(text) if self.recovery is not None else [TextDelta(text=text)])
        fragments = delta.get("tool_calls")
        if isinstance(fragments, list) and fragments:
            for position, fragment in enumerate(fragments):
                if isinstance(fragment, dict):
                    self._fragment(fragment, position)
        elif isinstance(delta.get("function_call"), dict):
            self._fragment({"index": 0, "function": delta["function_call"]}, 0)  # legacy single-call form
        return events

    def _fragment(self, fragment: dict[str, Any], position: int) -> None:
        self.saw_content = True
        call_id = fragment.get("id") or None
        index = fragment.get("index")
        if not isinstance(index, int):
            index = self._index_without_one(call_id, position)
        call = self.calls.get(index)
        if call is None:
            call = self.calls[index] = _PartialCall(index=index)
        if call_id and not call.id:
            call.id = str(call_id)
        function = fragment.get("function") or {}
        if not isinstance(function, dict):
            return
        name = function.get("name")
        if name and not call.name:
            call.name = str(name)
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            if arguments:
                call.parts.append(arguments)
        elif isinstance(arguments, dict):
            call.whole = arguments

    def _index_without_one(self, call_id: Any, position: int) -> int:
        """Servers that omit ``index``: a new id opens a call, no id continues the last one."""
        if call_id:
            for existing in self.calls.values():
                if existing.id == call_id:
                    return existing.index
            return max(self.calls, default=-1) + 1
        if self.calls:
            return max(self.calls)
        return position

    # ------------------------------------------------------------------ output

    def tool_calls(self) -> list[Event]:
        """The assembled calls in index order; unreadable ones become :class:`MalformedToolCall`."""
        out: list[Event] = []
        for index in sorted(self.calls):
            call = self.calls[index]
            call_id = call.id or f"call_{uuid.uuid4().hex[:12]}"
            raw = "".join(call.parts)
            if not call.name:
                out.append(MalformedToolCall(id=call_id, raw=raw, error="the tool call has no function name"))
                continue
            if call.whole is not None:
                out.append(ToolCall(id=call_id, name=call.name, arguments=call.whole))
                continue
            if not raw.strip():
                out.append(ToolCall(id=call_id, name=call.name, arguments={}))
                continue
            try:
                arguments = json.loads(raw)
            except ValueError as exc:
                out.append(
                    MalformedToolCall(id=call_id, name=call.name, raw=raw, error=f"arguments are not valid JSON: {exc}")
                )
                continue
            if not isinstance(arguments, dict):
                out.append(
                    MalformedToolCall(id=call_id, name=call.name, raw=raw, error="arguments must be a JSON object")
                )
                continue
            out.append(ToolCall(id=call_id, name=call.name, arguments=arguments))
        self.calls.clear()
        return out

    def finish(self) -> list[Event]:
        """What the stream's end releases: text held back, native calls, calls recovered from the text."""
        events: list[Event] = []
        recovered: list[Event] = []
        if self.recovery is not None:
            for event in self.recovery.finish():
                (events if isinstance(event, TextDelta) else recovered).append(event)
        events.extend(self.tool_calls())
        events.extend(recovered)
        self.called = any(isinstance(e, ToolCall | MalformedToolCall) for e in events)
        notice = self.recovery.notice() if self.recovery is not None else None
        if notice is not None and self.debug:
            events.append(notice)
        return events

    def stop_reason(self, had_tool_calls: bool) -> StopReason:
        # Several servers say "stop" after tool calls; the calls are what counts.
        if had_tool_calls:
            return "tool_calls"
        if self.finish_reason == "length":
            return "length"
        if self.finish_reason == "content_filter":
            return "error"
        return "stop"

    @property
    def complete(self) -> bool:
        """Whether the stream ended properly: ``[DONE]``, or at least a finish reason (some proxies drop ``[DONE]``)."""
        return self.saw_done or self.finish_reason is not None
