"""Machine-readable output: ``--output-format json`` and ``stream-json``, written.

The events and their schema are the API's (agentshell/api/events.py, docs/scripting.md). Here they become
text: stream-json writes one object per line and flushes each, so a reader sees events as they happen,
with credentials masked (agentshell.redact). stdout only ever holds these objects; diagnostics go to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Literal, TextIO

from agentshell.api.events import SCHEMA_VERSION, ToolCallEvent, ToolResultEvent
from agentshell.loop.limits import MALFORMED_NAME
from agentshell.protocol import Event, MalformedToolCall, Notice, TextDelta, ThinkingDelta, ToolCall, ToolCallRequest

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agentshell.api.events import StreamEvent
    from agentshell.loop.outcomes import ToolOutcome, TurnStatus

# Characters JSON leaves raw that Python's str.splitlines() (and JavaScript before ES2019) take as line ends:
# raw, one stream-json line would read as two. Escaped, the line is the same JSON.
_LINE_BREAKERS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _dumps(data: Any, indent: int | None = None) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=indent, separators=(",", ": ") if indent else (",", ":"))
    return text.translate(_LINE_BREAKERS)


def dump_redacted(event: BaseModel, indent: int | None = None) -> str:
    """The object as JSON with credentials masked (agentshell.redact): scripted output often ends up in logs."""
    from agentshell.redact import redact_obj

    return _dumps(redact_obj(event.model_dump(mode="json")), indent)


class StreamJsonWriter:
    """Writes one event per line to ``out``: the API's events (:meth:`write`), or the loop's own
    (an :class:`~agentshell.loop.ports.Observer`, as benchmarks/loop_overhead.py measures it)."""

    def __init__(self, out: TextIO | None = None, notices: Any = None) -> None:
        self.out = out or sys.stdout
        self.notices = notices  # where Notice events go (stderr), an object with on_notice(Notice)
        from agentshell.redact import StreamRedactor

        # Per stream: a key split across two deltas (tokens) must be masked too.
        self._redactors = {"text": StreamRedactor(), "thinking": StreamRedactor()}

    def write(self, event: StreamEvent) -> None:
        """An :class:`agentshell.api.EventSink`: text and thinking take the fast path, with streaming redaction."""
        if event.type == "text" or event.type == "thinking":
            self.emit_delta(event.type, event.text)
        else:
            self.emit(event)

    def emit(self, event: BaseModel) -> None:
        self.flush_deltas()
        self.out.write(dump_redacted(event) + "\n")
        self.out.flush()

    def emit_delta(self, kind: Literal["text", "thinking"], text: str) -> None:
        """The hot path, once per streamed token: the line ``emit(TextEvent(...))`` writes, at a third of the cost."""
        shown = self._redactors[kind].feed(text)
        if shown or not text:  # all held back: it may be the start of a key, the next delta decides
            self._write_delta(kind, shown)

    def flush_deltas(self) -> None:
        """Write what the redactors held back at the end of a stream (it was not a key after all)."""
        for kind, redactor in self._redactors.items():
            rest = redactor.flush()
            if rest:
                self._write_delta(kind, rest)  # type: ignore[arg-type]

    def _write_delta(self, kind: Literal["text", "thinking"], text: str) -> None:
        data = {"schema_version": SCHEMA_VERSION, "type": kind, "text": text}
        self.out.write(_dumps(data) + "\n")
        self.out.flush()

    def on_event(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self.emit_delta("text", event.text)
        elif isinstance(event, ThinkingDelta):
            self.emit_delta("thinking", event.text)
        elif isinstance(event, ToolCall):
            self.emit(ToolCallEvent(id=event.id, name=event.name, arguments=event.arguments))
        elif isinstance(event, MalformedToolCall):  # its tool_result (the parse error) follows, like any call's
            self.emit(ToolCallEvent(id=event.id, name=event.name or MALFORMED_NAME, arguments={}))
        elif isinstance(event, Notice) and self.notices is not None:
            self.notices.on_notice(event)

    def on_tool_start(self, call: ToolCallRequest) -> None:
        pass

    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None:
        self.emit(
            ToolResultEvent(
                id=call.id,
                name=call.name,
                output=result.output,
                is_error=result.is_error,
                summary=result.summary,
                diff=result.diff,
            )
        )

    def on_turn_end(self, status: TurnStatus) -> None:
        pass
