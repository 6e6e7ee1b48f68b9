"""The loop's observer for the API: each callback becomes the stream-json event that describes it.

The events are the pydantic models of ``cli/jsonout.py`` (docs/scripting.md lists them), so a
program embedding agentshell sees what ``--output-format stream-json`` prints, field for field,
only not yet redacted: credentials are masked where events are written out (stream-json, ACP).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from agentshell.cli.jsonout import (
    CheckpointEvent,
    HookEvent,
    TextEvent,
    ThinkingEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from agentshell.loop.outcomes import ToolOutcome, TurnStatus
from agentshell.protocol import Event, MalformedToolCall, Notice, TextDelta, ThinkingDelta, ToolCall, ToolCallRequest

if TYPE_CHECKING:
    from agentshell.checkpoints.recorder import Checkpoint
    from agentshell.cli.jsonout import StreamEvent
    from agentshell.extensions.hooks import HookRun


def _drop(event: StreamEvent) -> None:
    pass


class EventRelay:
    """An :class:`~agentshell.loop.ports.Observer` handing stream events to ``sink`` and notices to ``notice``."""

    def __init__(self, notice: Callable[[str], None]) -> None:
        self.sink: Callable[[StreamEvent], None] = _drop
        self.notice = notice
        self.current: ToolCallEvent | None = None  # the tool call being checked or run now
        self.status: TurnStatus | None = None  # after the latest model request

    def on_event(self, event: Event) -> None:
        # Deltas come once per token: model_construct skips validation, the fields are already strings.
        if isinstance(event, TextDelta):
            self.sink(TextEvent.model_construct(text=event.text))
        elif isinstance(event, ThinkingDelta):
            self.sink(ThinkingEvent.model_construct(text=event.text))
        elif isinstance(event, ToolCall):
            self.sink(ToolCallEvent(id=event.id, name=event.name, arguments=dict(event.arguments)))
        elif isinstance(event, MalformedToolCall):  # its tool_result (the parse error) follows, like any call's
            self.sink(ToolCallEvent(id=event.id, name=event.name or "invalid_tool_call", arguments={}))
        elif isinstance(event, Notice):
            self.notice(f"{event.level}: {event.text}")

    def on_tool_start(self, call: ToolCallRequest) -> None:
        self.current = ToolCallEvent(id=call.id, name=call.name, arguments=dict(call.arguments))

    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None:
        self.current = None
        self.sink(
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
        self.status = status

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.sink(CheckpointEvent(id=checkpoint.id, session_id=checkpoint.session, request=checkpoint.request))

    def on_hook(self, run: HookRun) -> None:
        self.sink(HookEvent.of(run))
