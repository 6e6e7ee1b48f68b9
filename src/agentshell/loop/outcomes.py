"""What the loop produces: the result of a tool call, the status after a model request, the outcome of a run.

Plain data for the front ends (``cli/render.py``; ``api/relay.py`` and ``api/events.py``) to show or write;
the interfaces that deliver them are in :mod:`agentshell.loop.ports`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from agentshell.protocol import Done, Message, TextDelta, ThinkingDelta, ToolCallRequest, Usage


class ToolOutcome(Protocol):
    """The fields of ``tools.base.ToolResult`` the loop and the front ends read."""

    @property
    def output(self) -> str: ...
    @property
    def is_error(self) -> bool: ...
    @property
    def summary(self) -> str: ...
    @property
    def diff(self) -> str | None: ...
    @property
    def denied(self) -> bool: ...


@dataclass(frozen=True)
class TurnStatus:
    """The status line after a model request."""

    backend: str
    model: str
    usage: Usage
    share: float | None  # of the context window, None when the window is unknown


@dataclass(frozen=True)
class PermissionDenial:
    """A call the permission gate refused: the json result lists them, so a script sees what did not run."""

    call: ToolCallRequest
    message: str  # what the model was told


@dataclass
class RunOutcome:
    """What one ``Agent.run`` produced, for the text/json front ends."""

    result: str = ""
    stop_reason: str = "stop"  # "stop", or the LoopExit.stop_reason that ended the run
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: list[ToolCallRequest] = field(default_factory=list)
    permission_denials: list[PermissionDenial] = field(default_factory=list)


@dataclass
class ReplyParts:
    """What one model request has said so far: the text, the thinking, the calls and the closing ``Done``."""

    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    calls: list[ToolCallRequest] = field(default_factory=list)
    done: Done = field(default_factory=Done)

    def add(self, event: object) -> None:
        if isinstance(event, TextDelta):
            self.text.append(event.text)
        elif isinstance(event, ThinkingDelta):
            self.thinking.append(event.text)
        elif isinstance(event, Done):
            self.done = event

    def message(self, *, interrupted: bool = False) -> Message:
        """The assistant message; an interrupted one keeps what the user saw and none of the calls."""
        calls = () if interrupted else tuple(self.calls)
        text, thinking = "".join(self.text), "".join(self.thinking) or None
        return Message(role="assistant", content=text, thinking=thinking, tool_calls=calls, interrupted=interrupted)
