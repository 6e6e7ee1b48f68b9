"""Tool calls that a model wrote as text, turned back into calls.

Servers parse tool calls natively, but not always: Ollama with Qwen models
regularly returns a call as content, and so do OpenAI-compatible servers whose
parser missed it (ARCHITECTURE.md, "Tool calls, wherever a model writes them";
the field reports are in tests/fixtures/toolcall_text/sources.md). One
:class:`CallRecovery` per reply reads these forms:

* Qwen's XML: ``<tool_call><function=NAME><parameter=K>V</parameter></function></tool_call>``,
  with or without the outer tag, closing tags optional at the end of the reply.
  Values are typed by the tool's JSON schema (see :mod:`agentshell_chatformat.xmlcall`).
* Hermes: ``<tool_call>{"name": …, "arguments": …}</tool_call>`` (near-JSON accepted).
* A bare JSON object ``{"name": …, "arguments"|"parameters": …}`` (or several, or a
  list of them) that is the whole reply, fenced or not.

Rules, so that text is never run by mistake:

* Only tools offered in this request: a call to any other name stays text.
* Inside a fenced code block among prose, a call is an example: it stays text.
  So is a tag written as inline code (```` `<tool_call>` ````).
* Text goes out as soon as it cannot become part of a call; the tail that could
  is held back, so the user never sees markup that later becomes a call.
  Recovered calls are handed out by :meth:`CallRecovery.finish`, after the stream.
* A call the model meant but wrote badly becomes a :class:`MalformedToolCall`
  that the agent sends back to the model, never an exception.

The result does not depend on how the stream was chunked (see the property tests).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from agentshell.protocol import MalformedToolCall, Notice, TextDelta, ToolCall, ToolSpec
from agentshell_chatformat.nearjson import NearJSONError, loads_many
from agentshell_chatformat.parser import FORMAT_REMINDER, interpret_call
from agentshell_chatformat.toolformat import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, new_call_id
from agentshell_chatformat.xmlcall import FUNCTION_CLOSE, FUNCTION_OPEN, parse_function_calls

RecoveredEvent = ToolCall | MalformedToolCall

_OPENERS = (TOOL_CALL_OPEN, FUNCTION_OPEN)
_LINE_LEAD = re.compile(r" {0,3}(`+|~+)?")
_NAME_IN_TEXT = re.compile(r"""["']name["']\s*:\s*["']([^"'\n]+)["']""")
_FENCE_INFO = re.compile(r"[\w+-]*[ \t]*\n?")
# Keys a bare JSON reply may have and still be read as a call: anything else is data the user asked for.
_BARE_CALL_KEYS = frozenset({"name", "arguments", "parameters", "type", "id"})


def _partial_prefix_len(text: str, token: str) -> int:
    for k in range(min(len(text), len(token) - 1), 0, -1):
        if token.startswith(text[-k:]):
            return k
    return 0


def _json_may_continue(text: str) -> bool:
    """Whether ``text`` (starting with ``{`` or ``[``) can still grow into JSON values and nothing else."""
    depth = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'" and depth:
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth < 0:
                return False
        elif depth == 0 and not (ch.isspace() or ch == ","):
            return False
    return True


def could_be_bare_call(text: str) -> bool:
    """Whether the reply so far may still turn out to be one bare JSON call (fenced or not) and nothing else.

    Conservative: it only says no when the reply can no longer be one, so text is
    released early in ordinary answers and never in a reply that becomes a call.
    """
    s = text.lstrip()
    if not s:
        return True
    first = s[0]
    if first in "{[":
        return _json_may_continue(s)
    if first not in "`~":
        return False
    run = len(s) - len(s.lstrip(first))
    if run < 3:
        return run == len(s)  # "``" may still become a fence
    info = _FENCE_INFO.match(s, run)
    assert info is not None  # the pattern accepts the empty string
    if "\n" not in s[run : info.end()] and info.end() == len(s):
        return True  # still on the info line
    body = s[info.end() :].lstrip()
    if not body:
        return True
    if body[0] not in "{[":
        return False
    close = min((i for i in (body.find("```"), body.find("~~~")) if i >= 0), default=-1)
    if close < 0:
        return True
    return not body[close:].lstrip("`~").strip()


class CallRecovery:
    """Feed a reply's text in any chunks; get back the text to show now, and the recovered calls at the end.

    ``tools`` are the tools offered in this request: only calls to them are recovered.
    ``answer_key`` names the one field of a JSON reply that holds a plain answer, for a
    server whose output is constrained to "a call or an answer" (Ollama's ``format``).
    """

    def __init__(
        self,
        tools: Sequence[ToolSpec],
        *,
        id_factory: Callable[[], str] = new_call_id,
        answer_key: str | None = None,
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._new_id = id_factory
        self._answer_key = answer_key
        self._text = ""
        self._pos = 0  # everything before this was released as text or consumed as a call
        self._whole = True  # nothing released yet: the reply may still be one bare JSON call
        self._fence: str | None = None
        self._line_start = True
        self._after_call = False  # whitespace right after a recovered call is dropped
        self.calls: list[RecoveredEvent] = []

    @property
    def recovered(self) -> int:
        """How many calls (well-formed or not) were read from the text."""
        return len(self.calls)

    def feed(self, text: str) -> list[TextDelta]:
        self._text += text
        released = self._advance(final=False)
        return [TextDelta(text=released)] if released else []

    def finish(self) -> list[TextDelta | RecoveredEvent]:
        """The text still held back, then every recovered call, in the order written."""
        released = self._advance(final=True)
        events: list[TextDelta | RecoveredEvent] = [TextDelta(text=released)] if released else []
        events.extend(self.calls)
        return events

    def notice(self) -> Notice | None:
        """The ``--debug`` line saying that calls were read from the text, or None when none were."""
        if not self.calls:
            return None
        names = ", ".join(call.name or "?" for call in self.calls)
        count = len(self.calls)
        return Notice(level="info", text=f"recovered {count} tool call{'s' if count > 1 else ''} from text: {names}")

    # -- scanning --------------------------------------------------------------------------

    def _advance(self, *, final: bool) -> str:
        if self._whole:
            if not final and could_be_bare_call(self._text):
                return ""
            self._whole = False
            if final:
                whole = self._whole_reply(self._text)
                if whole is not None:
                    self._pos = len(self._text)
                    if isinstance(whole, str):
                        return whole
                    self.calls.extend(whole)
                    return ""
        out: list[str] = []
        while True:
            safe, opener = self._find_opener(self._pos, final=final)
            self._release(out, self._text[self._pos : safe])
            self._pos = safe
            if opener is None:
                return "".join(out)
            end = self._block_end(opener, final=final)
            if end is None:
                return "".join(out)  # the block is still open: hold it
            block = self._text[opener:end]
            events = self._interpret(block)
            if events is None:
                self._release(out, block)
            else:
                self.calls.extend(events)
                self._after_call = True
            self._pos = end
            self._line_start = block.endswith("\n")

    def _release(self, out: list[str], text: str) -> None:
        if self._after_call:
            text = text.lstrip()
            if not text:
                return
            self._after_call = False
        out.append(text)

    def _find_opener(self, i: int, *, final: bool) -> tuple[int, int | None]:
        """From ``i``: (how far the text is certainly text, where a call opener starts or None)."""
        text = self._text
        n = len(text)
        while i < n:
            if self._line_start:
                lead = _LINE_LEAD.match(text, i)
                assert lead is not None  # the pattern accepts the empty string
                if lead.end() == n and not final:
                    return i, None  # spaces or backticks up to the end may still become a fence
                run = lead.group(1) or ""
                if len(run) >= 3:
                    if self._fence is None:
                        self._fence = run
                    elif run[0] == self._fence[0] and len(run) >= len(self._fence):
                        self._fence = None
                self._line_start = False
            newline = text.find("\n", i)
            line_end = n if newline < 0 else newline + 1
            if self._fence is None:
                opener = self._opener_in(i, line_end)
                if opener is not None:
                    return opener, opener
                if newline < 0 and not final:
                    keep = max(_partial_prefix_len(text[i:], token) for token in _OPENERS)
                    return n - keep, None
            i = line_end
            if newline >= 0:
                self._line_start = True
        return i, None

    def _opener_in(self, start: int, end: int) -> int | None:
        text = self._text
        found: int | None = None
        for token in _OPENERS:
            at = text.find(token, start, end)
            while at > 0 and text[at - 1] == "`":  # inline code: the format shown, not used
                at = text.find(token, at + 1, end)
            if at >= 0 and (found is None or at < found):
                found = at
        return found

    def _block_end(self, start: int, *, final: bool) -> int | None:
        """Where the call block opened at ``start`` ends, or None while that cannot be known yet."""
        text = self._text
        if text.startswith(TOOL_CALL_OPEN, start):
            close = text.find(TOOL_CALL_CLOSE, start)
            if close >= 0:
                return close + len(TOOL_CALL_CLOSE)
            if not final:
                return None
            last = text.rfind(FUNCTION_CLOSE, start)  # XML closed, outer tag never: the prose after it is text
            return last + len(FUNCTION_CLOSE) if last >= 0 else len(text)
        close = text.find(FUNCTION_CLOSE, start)
        if close < 0:
            return len(text) if final else None
        end = close + len(FUNCTION_CLOSE)
        after = end
        while after < len(text) and text[after].isspace():
            after += 1
        if text.startswith(TOOL_CALL_CLOSE, after):
            return after + len(TOOL_CALL_CLOSE)  # Qwen's closing tag without its opening one
        if not final and TOOL_CALL_CLOSE.startswith(text[after:]):
            return None
        return end

    # -- reading ---------------------------------------------------------------------------

    def _interpret(self, block: str) -> list[RecoveredEvent] | None:
        """The calls in one block, or None when it is text after all (no offered tool named)."""
        body = block
        if body.startswith(TOOL_CALL_OPEN):
            body = body[len(TOOL_CALL_OPEN) :]
        if body.rstrip().endswith(TOOL_CALL_CLOSE):
            body = body.rstrip()[: -len(TOOL_CALL_CLOSE)]
        if FUNCTION_OPEN in body:
            return self._xml_calls(body)
        events: list[RecoveredEvent] = []
        for part in body.split(TOOL_CALL_OPEN):  # an opening tag repeated without its closing one
            if not part.strip():
                continue
            found = self._json_calls(part)
            if found is None:
                return None
            events.extend(found)
        return events or None

    def _xml_calls(self, body: str) -> list[RecoveredEvent] | None:
        events: list[RecoveredEvent] = []
        for call in parse_function_calls(body, self._tools):
            if call.name not in self._tools:
                return None
            if call.error is not None:
                events.append(self._malformed(call.raw, call.error, call.name))
            else:
                events.append(ToolCall(id=self._new_id(), name=call.name, arguments=call.arguments, recovered=True))
        return events or None

    def _json_calls(self, body: str) -> list[RecoveredEvent] | None:
        raw = body.strip()
        try:
            values = loads_many(raw)
        except NearJSONError as exc:
            name = self._named_tool(raw)
            if name is None:
                return None
            return [self._malformed(raw, f"could not read the tool call ({exc}); {FORMAT_REMINDER}", name)]
        if len(values) == 1 and isinstance(values[0], list):
            values = values[0]
        events: list[RecoveredEvent] = []
        for value in values:
            try:
                name, arguments = interpret_call(value)
            except ValueError as exc:
                guess = self._named_tool(json.dumps(value)) if isinstance(value, dict) else None
                if guess is None:
                    return None
                events.append(self._malformed(raw, f"could not read the tool call: {exc}; {FORMAT_REMINDER}", guess))
                continue
            if name not in self._tools:
                return None
            events.append(ToolCall(id=self._new_id(), name=name, arguments=arguments, recovered=True))
        return events or None

    def _whole_reply(self, text: str) -> list[RecoveredEvent] | str | None:
        """Calls when the whole reply is bare JSON calls; the answer text of an ``answer_key`` reply; else None."""
        stripped = text.strip()
        if not stripped or stripped[0] not in "{[`~":
            return None
        try:
            values = loads_many(stripped)
        except NearJSONError:
            return None
        if len(values) == 1 and isinstance(values[0], list):
            values = values[0]
        if self._answer_key is not None and len(values) == 1 and isinstance(values[0], dict):
            answer = values[0].get(self._answer_key)
            if set(values[0]) == {self._answer_key} and isinstance(answer, str):
                return answer
        events: list[RecoveredEvent] = []
        for value in values:
            name = self._bare_call_name(value)
            if name is None:
                return None
            try:
                _, arguments = interpret_call(value)
            except ValueError as exc:
                events.append(self._malformed(stripped, f"could not read the tool call: {exc}", name))
                continue
            events.append(ToolCall(id=self._new_id(), name=name, arguments=arguments, recovered=True))
        return events or None

    def _bare_call_name(self, value: Any) -> str | None:
        """The offered tool a bare JSON object calls, or None when it is data, not a call."""
        if not isinstance(value, dict):
            return None
        function = value.get("function")
        if isinstance(function, dict) and set(value) <= {"type", "id", "function"}:
            value = function  # the OpenAI shape: {"type": "function", "function": {...}}
        name = value.get("name")
        if not isinstance(name, str) or name.strip() not in self._tools or not set(value) <= _BARE_CALL_KEYS:
            return None
        if not {"arguments", "parameters"} & set(value) and len(value) > 1:
            return None
        return name.strip()

    def _named_tool(self, raw: str) -> str | None:
        """An offered tool named in unreadable call text: the model meant a call, so it hears why it failed."""
        for match in _NAME_IN_TEXT.finditer(raw):
            if match.group(1).strip() in self._tools:
                return match.group(1).strip()
        return None

    def _malformed(self, raw: str, error: str, name: str | None) -> MalformedToolCall:
        return MalformedToolCall(id=self._new_id(), raw=raw, error=error, name=name)
