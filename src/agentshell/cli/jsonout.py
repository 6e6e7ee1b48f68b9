"""Machine-readable output: ``--output-format json`` and ``stream-json``.

The schema is these pydantic models; ``agent_output_schema()`` gives it as JSON
Schema, and docs/scripting.md describes it for people. Every object carries
``schema_version``; a change that removes or renames a field bumps it, adding
a field does not. stream-json writes one object per line and flushes each, so
a reader sees events as they happen. stdout only ever holds these objects;
diagnostics go to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from agentshell.loop.limits import MALFORMED_NAME
from agentshell.loop.outcomes import RunOutcome, ToolOutcome, TurnStatus
from agentshell.protocol import Event, MalformedToolCall, Notice, TextDelta, ThinkingDelta, ToolCall, ToolCallRequest

if TYPE_CHECKING:
    from agentshell.extensions.hooks import HookRun

SCHEMA_VERSION = 1


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = 1  # SCHEMA_VERSION


class InitEvent(_Out):
    """First line of a stream: what is about to run."""

    type: Literal["init"] = "init"
    session_id: str | None
    backend: str
    model: str
    cwd: str
    tools: list[str]
    permission_mode: str


class TextEvent(_Out):
    """A piece of the model's answer, as streamed."""

    type: Literal["text"] = "text"
    text: str


class ThinkingEvent(_Out):
    type: Literal["thinking"] = "thinking"
    text: str


class ToolCallEvent(_Out):
    """The model asked for a tool; its ``tool_result`` follows with the same id."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any]


class ToolResultEvent(_Out):
    type: Literal["tool_result"] = "tool_result"
    id: str
    name: str
    output: str
    is_error: bool
    summary: str
    diff: str | None = None


class UsageOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt_tokens: int
    completion_tokens: int


class ToolCallMade(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    arguments: dict[str, Any]


class PermissionDenialOut(BaseModel):
    """A tool call that did not run because the permissions refused it; ``message`` is what the model was told."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    arguments: dict[str, Any]
    message: str


class ResultEvent(_Out):
    """The last line of a stream, and the whole of ``--output-format json``."""

    type: Literal["result"] = "result"
    result: str
    """The final answer (empty when the run stopped early)."""
    is_error: bool
    error: str | None = None
    session_id: str | None
    backend: str
    model: str
    usage: UsageOut
    tool_calls: list[ToolCallMade]
    permission_denials: list[PermissionDenialOut] = []
    """Calls the permission gate refused (a run with denials may still succeed: check this list)."""
    stop_reason: str
    """stop | max_turns | repeated_tool_call | interrupted | error."""
    exit_code: int
    duration_ms: int
    turns: int


class ErrorEvent(_Out):
    """A failure that ends the run, before the final ``result``."""

    type: Literal["error"] = "error"
    message: str
    kind: str
    exit_code: int


class CheckpointEvent(_Out):
    """The workspace's files were checkpointed before the request's first change (docs/checkpoints.md):
    ``agent rewind --to ID`` puts them back to this point."""

    type: Literal["checkpoint"] = "checkpoint"
    id: str
    session_id: str
    request: int


class HookEvent(_Out):
    """A hook ran (docs/extensions.md#hooks): at which event, for which tool, and what it decided."""

    type: Literal["hook"] = "hook"
    event: str
    """PreToolUse | PostToolUse | UserPromptSubmit | Stop | SessionStart."""
    command: str
    tool_name: str | None = None
    outcome: str
    """ok | blocked | failed | timed_out."""
    exit_code: int | None
    duration_ms: int
    message: str = ""

    @classmethod
    def of(cls, run: HookRun) -> HookEvent:
        return cls(
            event=run.event, command=run.command, tool_name=run.tool_name, outcome=run.outcome,
            exit_code=run.exit_code, duration_ms=run.duration_ms, message=run.message,
        )  # fmt: skip


StreamEvent = Annotated[
    InitEvent
    | TextEvent
    | ThinkingEvent
    | ToolCallEvent
    | ToolResultEvent
    | ResultEvent
    | ErrorEvent
    | CheckpointEvent
    | HookEvent,
    Field(discriminator="type"),
]
stream_event_adapter: TypeAdapter[StreamEvent] = TypeAdapter(StreamEvent)


def agent_output_schema() -> dict[str, Any]:
    """JSON Schema of one stream-json line (the json format is its ``result`` variant)."""
    return stream_event_adapter.json_schema()


def build_result(
    outcome: RunOutcome,
    *,
    session_id: str | None,
    backend: str,
    model: str,
    duration_ms: int,
    exit_code: int = 0,
    error: str | None = None,
) -> ResultEvent:
    return ResultEvent(
        result=outcome.result,
        is_error=exit_code != 0,
        error=error,
        session_id=session_id,
        backend=backend,
        model=model,
        usage=UsageOut(prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens),
        tool_calls=[ToolCallMade(id=c.id, name=c.name, arguments=c.arguments) for c in outcome.tool_calls],
        permission_denials=[
            PermissionDenialOut(id=d.call.id, name=d.call.name, arguments=d.call.arguments, message=d.message)
            for d in outcome.permission_denials
        ],
        stop_reason=outcome.stop_reason,
        exit_code=exit_code,
        duration_ms=duration_ms,
        turns=outcome.turns,
    )


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
    """An :class:`~agentshell.loop.ports.Observer` writing one event per line to ``out``."""

    def __init__(self, out: TextIO | None = None, notices: Any = None) -> None:
        self.out = out or sys.stdout
        self.notices = notices  # where Notice events go (stderr), an object with on_notice(Notice)
        from agentshell.redact import StreamRedactor

        # Per stream: a key split across two deltas (tokens) must be masked too.
        self._redactors = {"text": StreamRedactor(), "thinking": StreamRedactor()}

    def emit(self, event: _Out) -> None:
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
