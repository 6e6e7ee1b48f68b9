"""The events of a run: what :class:`agentshell.api.Agent` reports and ``--output-format json`` / ``stream-json`` print.

The schema is these pydantic models; :func:`agent_output_schema` gives it as JSON Schema, and
docs/scripting.md describes it for people. Every object carries ``schema_version``; a change that removes
or renames a field bumps it, adding a field does not. The writing (one line per event, credentials masked)
is the command line's: cli/jsonout.py.

The models build their validators when first used (``defer_build``), not at import: a text run, which only
ever builds a ``result``, pays for no other.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

if TYPE_CHECKING:
    from agentshell.extensions.hooks import HookRun
    from agentshell.loop.outcomes import PermissionDenial, RunOutcome

SCHEMA_VERSION = 1


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
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
    model_config = ConfigDict(extra="forbid", defer_build=True)
    prompt_tokens: int
    completion_tokens: int


class ToolCallMade(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    id: str
    name: str
    arguments: dict[str, Any]


class PermissionDenialOut(BaseModel):
    """A tool call that did not run because the permissions or a PreToolUse hook refused it; ``message`` is what
    the model was told."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
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
    """Calls the permission gate or a PreToolUse hook refused (a run with denials may still succeed: check this
    list)."""
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


@cache
def event_adapter() -> TypeAdapter[StreamEvent]:
    """Reads any event back from its JSON (``event_adapter().validate_json(line)``); built on first use."""
    return TypeAdapter(StreamEvent)


def agent_output_schema() -> dict[str, Any]:
    """JSON Schema of one stream-json line (the json format is its ``result`` variant)."""
    return event_adapter().json_schema()


def build_result(
    outcome: RunOutcome,
    *,
    session_id: str | None,
    backend: str,
    model: str,
    duration_ms: int,
    exit_code: int = 0,
    error: str | None = None,
    blocked: Sequence[PermissionDenial] = (),
) -> ResultEvent:
    """The ``result`` of a run; ``blocked`` are calls a PreToolUse hook refused, denials like the gate's."""
    listed = {d.call.id for d in outcome.permission_denials}
    asked = {c.id: i for i, c in reversed(list(enumerate(outcome.tool_calls)))}  # a call's first position
    denials = [*outcome.permission_denials, *(d for d in blocked if d.call.id not in listed)]
    denials.sort(key=lambda d: asked.get(d.call.id, len(asked)))  # in the order the model asked
    # From the loop's typed outcome: model_construct, as api/relay.py builds events, so a text run, which only
    # reads the result, builds no validator.
    return ResultEvent.model_construct(
        result=outcome.result,
        is_error=exit_code != 0,
        error=error,
        session_id=session_id,
        backend=backend,
        model=model,
        usage=UsageOut.model_construct(
            prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens
        ),
        tool_calls=[
            ToolCallMade.model_construct(id=c.id, name=c.name, arguments=dict(c.arguments)) for c in outcome.tool_calls
        ],
        permission_denials=[
            PermissionDenialOut.model_construct(
                id=d.call.id, name=d.call.name, arguments=dict(d.call.arguments), message=d.message
            )
            for d in denials
        ],
        stop_reason=outcome.stop_reason,
        exit_code=exit_code,
        duration_ms=duration_ms,
        turns=outcome.turns,
    )
