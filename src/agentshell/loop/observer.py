"""What the loop reports and to whom: the seam between :mod:`agentshell.loop.agent` and its front ends.

The loop knows nothing about terminals or JSON. It calls an :class:`Observer`
(the rich renderer, the stream-json writer, or a test's recorder) and talks
to tools through a :class:`ToolExecutor`, both structural protocols so that
the loop can be driven and watched by anything with the right methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agentshell.protocol import Event, Message, ToolCallRequest, ToolSpec, Usage


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


class ToolExecutor(Protocol):
    """``tools.ToolRunner``: never raises except KeyboardInterrupt (after killing what it started)."""

    def specs(self) -> list[ToolSpec]: ...
    def execute(self, name: str, arguments: dict[str, Any]) -> ToolOutcome: ...


class ContextFitter(Protocol):
    """``context.ContextKeeper``: keeps each request inside the model's window."""

    def observe(self, prompt_tokens: int, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> None: ...
    def share(self, tokens: int) -> float | None: ...
    def fit(
        self,
        backend: Any,
        model: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        summarize: Any,
        force: bool = False,
    ) -> Any: ...


class TranscriptSink(Protocol):
    """``session.Session``: every message is written as soon as it exists."""

    def append(self, message: Message, *, backend: str, model: str) -> None: ...
    def record_compaction(self, messages: Sequence[Message]) -> None: ...


@dataclass(frozen=True)
class TurnStatus:
    """The status line after a model request."""

    backend: str
    model: str
    usage: Usage
    share: float | None  # of the context window, None when the window is unknown


@dataclass
class RunOutcome:
    """What one ``Agent.run`` produced, for the text/json front ends."""

    result: str = ""
    stop_reason: str = "stop"
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: list[ToolCallRequest] = field(default_factory=list)


class Observer(Protocol):
    def on_event(self, event: Event) -> None: ...
    def on_tool_start(self, call: ToolCallRequest) -> None: ...
    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None: ...
    def on_turn_end(self, status: TurnStatus) -> None: ...
