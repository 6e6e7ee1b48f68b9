"""What a run ends with: the ``result`` object, the last line of stream-json and the whole of ``--output-format
json`` (docs/scripting.md), and what :meth:`agentshell.api.Agent.run` returns.

Apart from the events of a run (api/events.py) because every run needs it and a text run needs nothing
else: such a run builds these few models and no other (benchmarks/ollama_stream.py measures its start-up).
Every object of the output schema carries ``schema_version``; a change that removes or renames a field
bumps it, adding a field does not. The models build their validators when first used (``defer_build``),
and their annotations are objects, not strings pydantic would have to evaluate.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from agentshell.loop.outcomes import PermissionDenial, RunOutcome

SCHEMA_VERSION = 1


class Versioned(BaseModel):
    """An object of the output schema: every one says which version of it it follows."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    schema_version: Literal[1] = 1  # SCHEMA_VERSION


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


class ResultEvent(Versioned):
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


def build_result(
    outcome: "RunOutcome",
    *,
    session_id: str | None,
    backend: str,
    model: str,
    duration_ms: int,
    exit_code: int = 0,
    error: str | None = None,
    blocked: Sequence["PermissionDenial"] = (),
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
