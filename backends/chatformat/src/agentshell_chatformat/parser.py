"""Streaming recognition of ``<tool_call>…</tool_call>`` in model output.

The parser sits between a token stream and the agent: text passes through as
:class:`TextDelta` the moment it cannot be the start of a tag, and each complete
call becomes one :class:`ToolCall` (or :class:`MalformedToolCall` with an error
the agent sends back to the model so it can retry).

Rules, chosen so the result never depends on how the stream was chunked:

* Text is held back only while it could still be the beginning of
  ``<tool_call>`` or of a Markdown fence at the start of a line.
* Inside a fenced code block (a line starting with ```` ``` ```` or ``~~~``), a
  ``<tool_call>`` is text: a model showing the format to the user is not calling
  a tool. The fence closes on a line starting with at least as many of the same
  character. A fence *inside* the tags (```` ```json ````) is tolerated.
  A ``<tool_call>`` written as inline code, right after a backtick, is text too.
* The body between the tags may be strict JSON or near-JSON (see
  :mod:`agentshell_chatformat.nearjson`); ``arguments`` may be called
  ``parameters``, and may be a JSON string holding the object. A body holding a
  list, or several objects, yields several calls. A body in Qwen's XML form
  (``<function=NAME><parameter=K>V</parameter></function>``) is read too, its
  values typed by the schemas of the ``tools`` given (:mod:`agentshell_chatformat.xmlcall`).
* A call still open when the stream ends (the model stopped on its end-of-turn
  token before ``</tool_call>``) is parsed as if it had been closed.

Only the concatenated text and the sequence of calls are invariant under
re-chunking; how text is split between :class:`TextDelta` events is not.
:func:`coalesce` merges adjacent text deltas when a canonical form is needed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from agentshell.protocol import MalformedToolCall, TextDelta, ToolCall, ToolSpec
from agentshell_chatformat.nearjson import NearJSONError, loads_many
from agentshell_chatformat.toolformat import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, new_call_id
from agentshell_chatformat.xmlcall import FUNCTION_OPEN, parse_function_calls

ParserEvent = TextDelta | ToolCall | MalformedToolCall

_LINE_LEAD = re.compile(r" {0,3}(`+|~+)?")
_NAME_KEYS = ("name", "function", "tool", "tool_name")
_ARG_KEYS = ("arguments", "parameters", "args", "input")

FORMAT_REMINDER = (
    'write the call as <tool_call>{"name": "TOOL_NAME", "arguments": {...}}</tool_call> '
    "with the arguments as a JSON object"
)


def coalesce(events: Iterable[ParserEvent]) -> list[ParserEvent]:
    """Merge adjacent :class:`TextDelta` events and drop empty ones."""
    out: list[ParserEvent] = []
    for event in events:
        if isinstance(event, TextDelta):
            if not event.text:
                continue
            if out and isinstance(out[-1], TextDelta):
                out[-1] = TextDelta(text=out[-1].text + event.text)
                continue
        out.append(event)
    return out


def _partial_prefix_len(buf: str, token: str) -> int:
    """Length of the longest suffix of ``buf`` that is a proper prefix of ``token``."""
    for k in range(min(len(buf), len(token) - 1), 0, -1):
        if token.startswith(buf[-k:]):
            return k
    return 0


def interpret_call(value: Any) -> tuple[str, dict[str, Any]]:
    """Name and arguments from one decoded call object; raises ``ValueError`` with the reason."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    name: Any = None
    for key in _NAME_KEYS:
        if key in value:
            name = value[key]
            break
    args: Any = {}
    if isinstance(name, dict):  # {"function": {"name": ..., "arguments": ...}}
        value, name = name, name.get("name")
    for key in _ARG_KEYS:
        if key in value:
            args = value[key]
            break
    if not isinstance(name, str) or not name.strip():
        raise ValueError('the call has no "name"')
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            raise ValueError(f'"arguments" is a string that is not a JSON object: {exc.msg}') from None
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ValueError(f'"arguments" must be a JSON object, got {type(args).__name__}')
    return name.strip(), args


class ToolCallParser:
    """Feed model output in any chunks; get text and whole tool calls back.

    ``id_factory`` makes call ids (default ``call_`` + 8 random characters); tests
    pass a deterministic one. ``tools`` type the values of XML-form calls.
    """

    def __init__(self, *, id_factory: Callable[[], str] = new_call_id, tools: Sequence[ToolSpec] = ()) -> None:
        self._new_id = id_factory
        self._tools = {tool.name: tool for tool in tools}
        self._buf = ""
        self._in_call = False
        self._fence: str | None = None  # the opening fence run while inside a code block
        self._line_start = True
        self._last_char = ""  # the character before the unscanned text: a backtick makes a tag inline code
        self.calls_seen = 0

    @property
    def in_tool_call(self) -> bool:
        """True between ``<tool_call>`` and ``</tool_call>``: the backend may switch to constrained decoding."""
        return self._in_call

    @property
    def open_call_text(self) -> str:
        """The text of the call written so far (empty outside a call): how much is left to close."""
        return self._buf if self._in_call else ""

    def take_call_body(self) -> str:
        """Remove and return the text buffered after ``<tool_call>``.

        A backend that switches to constrained decoding right after the tag
        rewinds the engine to the tag and regenerates this text under the grammar.
        """
        if not self._in_call:
            return ""
        body, self._buf = self._buf, ""
        return body

    def feed(self, text: str) -> list[ParserEvent]:
        self._buf += text
        return self._drain(final=False)

    def finish(self) -> list[ParserEvent]:
        events = self._drain(final=True)
        if self._in_call:
            events.extend(self._parse_body(self._buf))
            self._in_call = False
        elif self._buf:
            events.append(TextDelta(text=self._buf))
        self._buf = ""
        return events

    # -- scanning --------------------------------------------------------------------------

    def _drain(self, *, final: bool) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        while True:
            if self._in_call:
                end = self._buf.find(TOOL_CALL_CLOSE)
                if end < 0:
                    return events
                events.extend(self._parse_body(self._buf[:end]))
                self._buf = self._buf[end + len(TOOL_CALL_CLOSE) :]
                self._in_call = False
                continue
            emitted, progressed = self._scan_text(final=final)
            if emitted:
                events.append(TextDelta(text=emitted))
            if not progressed:
                return events

    def _scan_text(self, *, final: bool) -> tuple[str, bool]:
        """Consume text up to the next call opening; returns (text to emit, opened a call)."""
        buf = self._buf
        out: list[str] = []
        i = 0
        while i < len(buf):
            if self._line_start:
                fence_end = self._match_fence(buf, i, final=final)
                if fence_end is None:  # cannot tell yet
                    break
                if fence_end > i:
                    out.append(buf[i:fence_end])
                    i = fence_end
                    self._line_start = False
                    continue
                self._line_start = False
            newline = buf.find("\n", i)
            line_end = len(buf) if newline < 0 else newline + 1
            if self._fence is None:
                opening = self._find_opening(buf, i, line_end)
                if opening >= 0:
                    out.append(buf[i:opening])
                    self._buf = buf[opening + len(TOOL_CALL_OPEN) :]
                    self._in_call = True
                    self._last_char = ">"
                    return "".join(out), True
                if newline < 0 and not final:
                    keep = _partial_prefix_len(buf[i:], TOOL_CALL_OPEN)
                    out.append(buf[i : len(buf) - keep])
                    i = len(buf) - keep
                    break
            out.append(buf[i:line_end])
            i = line_end
            if newline >= 0:
                self._line_start = True
        if i > 0:
            self._last_char = buf[i - 1]
        self._buf = buf[i:]
        return "".join(out), False

    def _find_opening(self, buf: str, start: int, end: int) -> int:
        """Where ``<tool_call>`` opens a call; written as inline code (after a backtick) it is text."""
        at = buf.find(TOOL_CALL_OPEN, start, end)
        while at >= 0 and (buf[at - 1] if at > 0 else self._last_char) == "`":
            at = buf.find(TOOL_CALL_OPEN, at + 1, end)
        return at

    def _match_fence(self, buf: str, i: int, *, final: bool) -> int | None:
        """At a line start: where a fence run ends (toggling fence state), ``i`` if none, None if undecided."""
        match = _LINE_LEAD.match(buf, i)
        assert match is not None  # the pattern accepts the empty string
        if match.end() == len(buf) and not final:
            return None  # spaces or backticks up to the end of the buffer may still grow into a fence
        run = match.group(1) or ""
        if len(run) < 3:
            return i
        if self._fence is None:
            self._fence = run
        elif run[0] == self._fence[0] and len(run) >= len(self._fence):
            self._fence = None
        return match.end()

    # -- bodies ---------------------------------------------------------------------------

    def _parse_body(self, body: str) -> list[ParserEvent]:
        raw = body.strip()
        if FUNCTION_OPEN in raw:
            return self._parse_xml(raw)
        try:
            values = loads_many(raw)
        except NearJSONError as exc:
            return [self._malformed(raw, f"could not read the tool call ({exc}); {FORMAT_REMINDER}")]
        if len(values) == 1 and isinstance(values[0], list):
            values = values[0]
        events: list[ParserEvent] = []
        for value in values:
            try:
                name, arguments = interpret_call(value)
            except ValueError as exc:
                guess = value.get("name") if isinstance(value, dict) and isinstance(value.get("name"), str) else None
                events.append(self._malformed(raw, f"could not read the tool call: {exc}; {FORMAT_REMINDER}", guess))
                continue
            self.calls_seen += 1
            events.append(ToolCall(id=self._new_id(), name=name, arguments=arguments))
        if not events:
            events.append(self._malformed(raw, f"the tool call holds no call; {FORMAT_REMINDER}"))
        return events

    def _parse_xml(self, raw: str) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        for call in parse_function_calls(raw, self._tools):
            if call.error is not None or not call.name:
                events.append(
                    self._malformed(call.raw, call.error or "the <function=…> tag has no name", call.name or None)
                )
                continue
            self.calls_seen += 1
            events.append(ToolCall(id=self._new_id(), name=call.name, arguments=call.arguments))
        return events

    def _malformed(self, raw: str, error: str, name: str | None = None) -> MalformedToolCall:
        return MalformedToolCall(id=self._new_id(), raw=raw, error=error, name=name)
