"""The loop's limits and the exits that enforce them.

Every way out of ``Agent.run`` other than a final answer is a :class:`LoopExit`
whose ``str()`` is the line for the user and whose ``exit_code`` is what a script
sees (the codes and the whole error tree are in :mod:`agentshell.errors`).
:class:`CallGuard` vets each tool call before it runs: malformed calls,
oversized arguments and a model stuck repeating itself. A model is stuck when it
sends the same call and gets the same answer, again and again, within one request:
a new request (:meth:`CallGuard.new_request`) starts the count over, and so does a
call whose result differs from the last one (the tests rerun after an edit).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from agentshell.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_TURN_LIMIT, UserError
from agentshell.protocol import MalformedToolCall, ToolCall, ToolCallRequest
from agentshell.tools.base import ToolResult

MALFORMED_SUMMARY = "malformed tool call"  # the summary of the answer to a call that could not be read
MALFORMED_NAME = "invalid_tool_call"  # the transcript's name for such a call when the model gave none


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


class Declined(LoopExit):
    """The user said no to a call: the turn stops so they can say what to do instead (``Agent.stop_after_call``)."""

    stop_reason = "declined"


class Blocked(LoopExit):
    """A UserPromptSubmit hook refused the prompt, which never reached the model (docs/extensions.md#hooks)."""

    stop_reason = "blocked"


@dataclass(frozen=True)
class Limits:
    max_turns: int = 50  # model requests per run()
    repeat_limit: int = 3  # identical calls in a row, with identical results, within one request before stopping
    max_argument_bytes: int = 1_000_000  # larger tool arguments get an error result instead of running
    max_argument_depth: int = 64  # deeper ones too: no tool takes them, and transcripts could not be written


class CallGuard:
    """Answers the calls that must not run; the rest go to the tools."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._malformed: dict[str, str] = {}  # tool call id -> the error to answer it with
        self._last = ""  # signature of the last call that ran
        self._last_result = ""  # digest of what it answered
        self._in_a_row = 0  # how many times in a row that call ran and got that answer

    def new_request(self) -> None:
        """A new user request: what the model did for the last one says nothing about this one."""
        self._malformed.clear()
        self._last, self._last_result, self._in_a_row = "", "", 0

    def screen(self, event: ToolCall) -> ToolCall | MalformedToolCall:
        """A call whose arguments nest too deep becomes a malformed one, before anything tries to show or save it."""
        if not _deeper_than(event.arguments, self.limits.max_argument_depth):
            return event
        error = f"the arguments nest deeper than {self.limits.max_argument_depth} levels; no tool takes that"
        return MalformedToolCall(id=event.id, name=event.name, raw="(not shown)", error=error)

    def malformed(self, event: MalformedToolCall) -> ToolCallRequest:
        """The call as the transcript keeps it; :meth:`vet` answers it with the parse error."""
        self._malformed[event.id] = (
            f"error: your tool call could not be read: {event.error}. You wrote: {event.raw[:500]}"
        )
        return ToolCallRequest(id=event.id, name=event.name or MALFORMED_NAME)

    def vet(self, call: ToolCallRequest) -> ToolResult | None:
        """An error result for a call that must not run, None for one that may; raises when the model is stuck."""
        if call.id in self._malformed:
            return ToolResult(self._malformed.pop(call.id), is_error=True, summary=MALFORMED_SUMMARY)
        signature = _signature(call)
        if signature == self._last and self._in_a_row + 1 >= self.limits.repeat_limit:
            raise RepeatedToolCall(
                f"the model called {call.name} with the same arguments {self._in_a_row + 1} times in a row "
                "and got the same answer each time; stopped"
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

    def record(self, call: ToolCallRequest, output: str) -> None:
        """What the call answered: the same call with a different answer (a file changed) is progress."""
        signature = _signature(call)
        digest = hashlib.blake2b(output.encode(errors="replace"), digest_size=16).hexdigest()
        if signature == self._last and digest == self._last_result:
            self._in_a_row += 1
        else:
            self._last, self._last_result, self._in_a_row = signature, digest, 1


def _deeper_than(value: object, limit: int) -> bool:
    """Whether lists and dicts nest more than ``limit`` levels, found without recursion (it is what overflows)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _signature(call: ToolCallRequest) -> str:
    return call.name + json.dumps(call.arguments, sort_keys=True, default=str)
