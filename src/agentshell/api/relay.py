"""The loop's observer for the API: each callback becomes the event that describes it (api/events.py).

A program embedding agentshell sees what ``--output-format stream-json`` prints, field for field,
only not yet redacted: credentials are masked where events are written out (stream-json, ACP).
A front end that draws more than the events carry (the shell's spinner while a tool runs, its status
line after each model request; -p's lines on stderr) passes its own observer too, and gets the loop's
callbacks as they are. A run nobody asked events of builds none, and imports no event model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agentshell.loop.limits import MALFORMED_NAME
from agentshell.loop.outcomes import PermissionDenial, ToolOutcome, TurnStatus
from agentshell.protocol import Event, MalformedToolCall, Notice, TextDelta, ThinkingDelta, ToolCall, ToolCallRequest

if TYPE_CHECKING:
    from agentshell.api.events import StreamEvent, TextEvent, ThinkingEvent, ToolCallEvent
    from agentshell.checkpoints.recorder import Checkpoint
    from agentshell.extensions.hooks import HookRun
    from agentshell.loop.ports import Observer

Sink = Callable[["StreamEvent"], None]


def call_event(call_id: str, name: str, arguments: Mapping[str, Any]) -> ToolCallEvent:
    from agentshell.api.events import ToolCallEvent

    return ToolCallEvent.model_construct(id=call_id, name=name, arguments=dict(arguments))


class EventRelay:
    """An :class:`~agentshell.loop.ports.Observer` handing events to the run's sink, notices to ``notice``, and every
    callback to the run's observer when there is one (then the loop's notices go there, not to ``notice``)."""

    def __init__(self, notice: Callable[[str], None]) -> None:
        self.notice = notice
        self.sink: Sink | None = None
        self.observer: Observer | None = None
        self.running: ToolCallRequest | None = None  # the tool call being checked or run now
        self.status: TurnStatus | None = None  # after the latest model request
        self.blocked: list[PermissionDenial] = []  # calls a PreToolUse hook refused in this run
        self._hook_refused: str | None = None  # the id of the running call, when a PreToolUse hook blocked it
        self._deltas: tuple[type[TextEvent], type[ThinkingEvent]] | None = None

    def begin(self, sink: Sink | None, observer: Observer | None) -> None:
        self.sink, self.observer, self.blocked = sink, observer, []
        if sink is not None and self._deltas is None:
            from agentshell.api.events import TextEvent, ThinkingEvent

            self._deltas = TextEvent, ThinkingEvent

    def end(self) -> None:
        self.sink, self.observer, self.running, self._hook_refused = None, None, None, None

    # The loop's data is validated already (protocol models, typed results): the events are built with
    # model_construct, without a second validation (once per token, for deltas) and without the validators
    # a run that prints no JSON would never use.

    def on_event(self, event: Event) -> None:
        if self.observer is not None:
            self.observer.on_event(event)
        if isinstance(event, Notice):
            if self.observer is None:
                self.notice(f"{event.level}: {event.text}")
        elif self.sink is None:
            return
        elif isinstance(event, TextDelta):
            assert self._deltas is not None
            self.sink(self._deltas[0].model_construct(text=event.text))
        elif isinstance(event, ThinkingDelta):
            assert self._deltas is not None
            self.sink(self._deltas[1].model_construct(text=event.text))
        elif isinstance(event, ToolCall):
            self.sink(call_event(event.id, event.name, event.arguments))
        elif isinstance(event, MalformedToolCall):  # its tool_result (the parse error) follows, like any call's
            self.sink(call_event(event.id, event.name or MALFORMED_NAME, {}))

    def on_tool_start(self, call: ToolCallRequest) -> None:
        self.running = call
        if self.observer is not None:
            self.observer.on_tool_start(call)

    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None:
        self.running = None
        if self._hook_refused == call.id:
            self._hook_refused = None
            self.blocked.append(PermissionDenial(call, result.output))
        if self.observer is not None:
            self.observer.on_tool_result(call, result)
        if self.sink is not None:
            from agentshell.api.events import ToolResultEvent

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
        if self.sink is not None:
            from agentshell.api.events import CheckpointEvent

            self.sink(
                CheckpointEvent.model_construct(
                    id=checkpoint.id, session_id=checkpoint.session, request=checkpoint.request
                )
            )

    def on_hook(self, run: HookRun) -> None:
        if run.event == "PreToolUse" and run.outcome == "blocked" and self.running is not None:
            self._hook_refused = self.running.id  # the call does not run: a denial, as the gate's are
        if self.sink is not None:
            from agentshell.api.events import HookEvent

            self.sink(HookEvent.of(run))
