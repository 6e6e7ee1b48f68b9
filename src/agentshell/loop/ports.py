"""The loop's ports: who watches it, who runs its tools, who keeps the context small, who writes it down.

The loop knows nothing about terminals, JSON or disks. It reports to an
:class:`Observer` (the rich renderer, the stream-json writer, or a test's
recorder), runs tools through a :class:`ToolExecutor`, fits each request
with a :class:`ContextFitter` and hands every message to a
:class:`TranscriptSink`. All four are structural protocols, so anything with
the right methods can drive or watch the loop (docs/embedding.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from agentshell.loop.context import FitResult
from agentshell.loop.outcomes import ToolOutcome, TurnStatus
from agentshell.protocol import Backend, Event, Message, ToolCallRequest, ToolSpec


class Observer(Protocol):
    """Sees everything the user may see, as it happens."""

    def on_event(self, event: Event) -> None: ...
    def on_tool_start(self, call: ToolCallRequest) -> None: ...
    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None: ...
    def on_turn_end(self, status: TurnStatus) -> None: ...


class ToolExecutor(Protocol):
    """``tools.ToolRunner``: never raises except KeyboardInterrupt (after killing what it started)."""

    def specs(self) -> list[ToolSpec]: ...
    def execute(self, name: str, arguments: dict[str, Any]) -> ToolOutcome: ...


class ContextFitter(Protocol):
    """``loop.context.ContextKeeper``: keeps each request inside the model's window."""

    def observe(self, prompt_tokens: int, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> None: ...
    def share(self, tokens: int) -> float | None: ...
    def fit(
        self,
        backend: Backend,
        model: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        summarize: Callable[[Sequence[Message]], str],
        force: bool = False,
    ) -> FitResult: ...


class RequestHooks(Protocol):
    """``extensions.hooks.HookRunner``: the user's commands at the edges of a request (docs/extensions.md#hooks)."""

    def before_request(self, prompt: str) -> tuple[str, str | None]: ...  # (prompt to send, why it is refused)
    def after_answer(self, answer: str) -> str | None: ...  # why the model must go on (the next user message)


class TranscriptSink(Protocol):
    """``session.Session``: every message is written as soon as it exists."""

    def append(self, message: Message, *, backend: str, model: str) -> None: ...
    def record_compaction(self, messages: Sequence[Message]) -> None: ...
