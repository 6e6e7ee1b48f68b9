"""The events of a run: what :class:`agentshell.api.Agent` reports and ``--output-format stream-json`` prints,
one per line, ending with the ``result`` (api/result.py).

The schema is these pydantic models; :func:`agent_output_schema` gives it as JSON Schema, and
docs/scripting.md describes it for people. Every object carries ``schema_version``; a change that removes
or renames a field bumps it, adding a field does not. The writing (one line per event, credentials masked)
is the command line's: cli/jsonout.py. Imported only by a run that reports events (a text run does not),
and, like the result, with validators built on first use.
"""

from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from agentshell.api.result import SCHEMA_VERSION, ResultEvent, Versioned

if TYPE_CHECKING:
    from agentshell.extensions.hooks import HookRun

__all__ = [
    "SCHEMA_VERSION",
    "CheckpointEvent",
    "ErrorEvent",
    "HookEvent",
    "InitEvent",
    "ResultEvent",
    "StreamEvent",
    "TextEvent",
    "ThinkingEvent",
    "ToolCallEvent",
    "ToolResultEvent",
    "agent_output_schema",
    "event_adapter",
]


class InitEvent(Versioned):
    """First line of a stream: what is about to run."""

    type: Literal["init"] = "init"
    session_id: str | None
    backend: str
    model: str
    cwd: str
    tools: list[str]
    permission_mode: str


class TextEvent(Versioned):
    """A piece of the model's answer, as streamed."""

    type: Literal["text"] = "text"
    text: str


class ThinkingEvent(Versioned):
    type: Literal["thinking"] = "thinking"
    text: str


class ToolCallEvent(Versioned):
    """The model asked for a tool; its ``tool_result`` follows with the same id."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any]


class ToolResultEvent(Versioned):
    type: Literal["tool_result"] = "tool_result"
    id: str
    name: str
    output: str
    is_error: bool
    summary: str
    diff: str | None = None


class ErrorEvent(Versioned):
    """A failure that ends the run, before the final ``result``."""

    type: Literal["error"] = "error"
    message: str
    kind: str
    exit_code: int


class CheckpointEvent(Versioned):
    """The workspace's files were checkpointed before the request's first change (docs/checkpoints.md):
    ``agent rewind --to ID`` puts them back to this point."""

    type: Literal["checkpoint"] = "checkpoint"
    id: str
    session_id: str
    request: int


class HookEvent(Versioned):
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
    def of(cls, run: "HookRun") -> "HookEvent":
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
