"""The loop's limits and the exits that enforce them.

Every way out of ``Agent.run`` other than a final answer is a :class:`LoopExit`
whose ``str()`` is the line for the user and whose ``exit_code`` is what a script
sees (the codes and the whole error tree are in :mod:`agentshell.errors`).
:class:`CallGuard` vets each tool call before it runs: malformed calls,
oversized arguments and a model stuck repeating itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from agentshell.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_TURN_LIMIT, UserError
from agentshell.protocol import MalformedToolCall, ToolCallRequest
from agentshell.tools.base import ToolResult


class LoopExit(UserError):
    """The loop stopped before a final answer; ``stop_reason`` is what the json output reports."""

    stop_reason = "error"
    exit_code = EXIT_FAILURE


class TurnLimitReached(LoopExit):
    stop_reason, exit_code = "max_turns", EXIT_TURN_LIMIT


class RepeatedToolCall(LoopExit):
    stop_reason, exit_code = "repeated_tool_call", EXIT_FAILURE


class Interrupted(LoopExit):
    stop_reason, exit_code = "interrupted", EXIT_INTERRUPTED


@dataclass(frozen=True)
class Limits:
    max_turns: int = 50  # model requests per run()
    repeat_limit: int = 3  # identical tool calls in a row before stopping
    max_argument_bytes: int = 1_000_000  # larger tool arguments get an error result instead of running


class CallGuard:
    """Answers the calls that must not run; the rest go to the tools."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._malformed: dict[str, str] = {}  # tool call id -> the error to answer it with
        self._last: tuple[str, int] = ("", 0)  # signature of the last call, times in a row

    def malformed(self, event: MalformedToolCall) -> ToolCallRequest:
        """The call as the transcript keeps it; :meth:`vet` answers it with the parse error."""
        self._malformed[event.id] = (
            f"error: your tool call could not be read: {event.error}. You wrote: {event.raw[:500]}"
        )
        return ToolCallRequest(id=event.id, name=event.name or "invalid_tool_call")

    def vet(self, call: ToolCallRequest) -> ToolResult | None:
        """An error result for a call that must not run, None for one that may; raises when the model is stuck."""
        if call.id in self._malformed:
            return ToolResult(self._malformed.pop(call.id), is_error=True, summary="malformed tool call")
        signature = call.name + json.dumps(call.arguments, sort_keys=True, default=str)
        self._last = (signature, self._last[1] + 1 if signature == self._last[0] else 1)
        if self._last[1] >= self.limits.repeat_limit:
            raise RepeatedToolCall(
                f"the model called {call.name} with the same arguments {self._last[1]} times in a row; stopped"
            )
        size = len(signature.encode())
        if size > self.limits.max_argument_bytes:
            return ToolResult(
                f"error: the arguments are {size:,} bytes, over the limit of "
                f"{self.limits.max_argument_bytes:,}; send smaller pieces",
                is_error=True,
                summary="too large",
            )
        return None
