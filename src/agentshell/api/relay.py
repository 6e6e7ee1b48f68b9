"""The loop's observer for the API: each callback becomes the event that describes it (api/events.py).

A program embedding agentshell sees what ``--output-format stream-json`` prints, field for field,
only not yet redacted: credentials are masked where events are written out (stream-json, ACP).
A front end that draws more than the events carry (the shell's spinner while a tool runs, its status
line after each model request) passes its own observer too, and gets the loop's callbacks as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agentshell.api.events import CheckpointEvent, HookEvent, TextEvent, ThinkingEvent, ToolCallEvent, ToolResultEvent
from agentshell.loop.limits import MALFORMED_NAME
from agentshell.loop.outcomes import PermissionDenial, ToolOutcome, TurnStatus
from agentshell.protocol import Event, MalformedToolCall, Notice, TextDelta, ThinkingDelta, ToolCall, ToolCallRequest

if TYPE_CHECKING:
    from agentshell.api.events import StreamEvent
    from agentshell.checkpoints.recorder import Checkpoint
    from agentshell.extensions.hooks import HookRun
    from agentshell.loop.ports import Observer


def _drop(event: StreamEvent) -> None:
    pass


def _call_event(call_id: str, name: str, arguments: Mapping[str, Any]) -> ToolCallEvent:
    return ToolCallEvent.model_construct(id=call_id, name=name, arguments=dict(arguments))


class EventRelay:
    """An :class:`~agentshell.loop.ports.Observer` handing events to ``sink``, notices to ``notice``, and every
    callback to ``observer`` when there is one (then the loop's notices go there, not to ``notice``)."""

    def __init__(self, notice: Callable[[str], None]) -> None:
        self.sink: Callable[[StreamEvent], None] = _drop
        self.notice = notice
        self.observer: Observer | None = None
        self.current: ToolCallEvent | None = None  # the tool call being checked or run now
        self.status: TurnStatus | None = None  # after the latest model request
        self.blocked: list[PermissionDenial] = []  # calls a PreToolUse hook refused in this run
        self._hook_refused: str | None = None  # the id of the running call, when a PreToolUse hook blocked it

    def begin(self, sink: Callable[[StreamEvent], None], observer: Observer | None) -> None:
        self.sink, self.observer, self.blocked = sink, observer, []

    def end(self) -> None:
        self.sink, self.observer, self.current, self._hook_refused = _drop, None, None, None

    def on_event(self, event: Event) -> None:
        if self.observer is not None:
            self.observer.on_event(event)
        # The loop's data is validated already (protocol models, typed results): model_construct skips a second
        # validation, once per token for deltas, and the building of validators a run that prints no JSON never uses.
        if isinstance(event, TextDelta):
            self.sink(TextEvent.model_construct(text=event.text))
        elif isinstance(event, ThinkingDelta):
            self.sink(ThinkingEvent.model_construct(text=event.text))
        elif isinstance(event, ToolCall):
            self.sink(_call_event(event.id, event.name, event.arguments))
        elif isinstance(event, MalformedToolCall):  # its tool_result (the parse error) follows, like any call's
            self.sink(_call_event(event.id, event.name or MALFORMED_NAME, {}))
        elif isinstance(event, Notice) and self.observer is None:
            self.notice(f"{event.level}: {event.text}")

    def on_tool_start(self, call: ToolCallRequest) -> None:
        self.current = _call_event(call.id, call.name, call.arguments)
        if self.observer is not None:
            self.observer.on_tool_start(call)

    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None:
        self.current = None
        if self._hook_refused == call.id:
            self._hook_refused = None
            self.blocked.append(PermissionDenial(call, result.output))
        if self.observer is not None:
            self.observer.on_tool_result(call, result)
        self.sink(
            ToolResultEvent.model_construct(
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
        if self.observer is not None:
            self.observer.on_turn_end(status)

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.sink(
            CheckpointEvent.model_construct(id=checkpoint.id, session_id=checkpoint.session, request=checkpoint.request)
        )

    def on_hook(self, run: HookRun) -> None:
        if run.event == "PreToolUse" and run.outcome == "blocked" and self.current is not None:
            self._hook_refused = self.current.id  # the call does not run: a denial, as the gate's are
        self.sink(HookEvent.of(run))
