"""One streamed ``/api/chat`` answer, line by line, turned into protocol events.

Ollama sends tool calls whole (never partial JSON), possibly several in one
chunk and spread over several chunks, and says ``done_reason: "stop"`` even when
the turn ended in tool calls. The decoder keeps what it has seen so the final
:class:`Done` can tell the agent the truth.

When its template parser misses a call (Qwen models write ``<function=…>`` XML
or a bare JSON object as content, ollama/ollama#14745), the content goes through
:class:`agentshell_chatformat.CallRecovery`: text that may still become a call is
held back, and the calls read from it come out before the final :class:`Done`.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentshell.protocol import (
    BackendError,
    Done,
    MalformedToolCall,
    Notice,
    StopReason,
    TextDelta,
    ThinkingDelta,
    Timings,
    ToolCall,
    Usage,
)

StreamEvent = TextDelta | ThinkingDelta | ToolCall | MalformedToolCall | Notice | Done

if TYPE_CHECKING:
    from agentshell_chatformat import CallRecovery

_ID_ALPHABET = string.ascii_lowercase + string.digits
_STOP_REASONS: dict[str, StopReason] = {"stop": "stop", "length": "length"}


def new_call_id() -> str:
    """Same shape as Ollama's own ids (``call_`` + 8 of [a-z0-9]) for calls that arrive without one."""
    import secrets  # loads OpenSSL: only when a call arrives without an id

    return "call_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))


def _ms(value: Any) -> float | None:
    return value / 1e6 if isinstance(value, int | float) and not isinstance(value, bool) else None


def prompt_was_cut(prompt_tokens: int, num_ctx: int | None, estimated_tokens: int) -> bool:
    """Whether Ollama silently dropped part of the prompt.

    Ollama never refuses an over-long prompt: it drops the oldest messages. The
    signs are a prompt that filled the whole window, or one we expected to be
    larger than the window that came back far smaller than expected.
    """
    if not num_ctx or prompt_tokens <= 0:
        return False
    if prompt_tokens >= num_ctx:
        return True
    return estimated_tokens > num_ctx and prompt_tokens < estimated_tokens // 2


@dataclass
class ChatStreamDecoder:
    """Feed it the lines of one answer; it returns the events each line carries."""

    model: str
    num_ctx: int | None = None
    estimated_prompt_tokens: int = 0
    first_token_ms: float | None = None
    tool_calls: int = 0
    shown: bool = False  # the model started answering (text may still be held back by the recovery)
    done: bool = False
    recovery: CallRecovery | None = None  # reads calls written as text; None when no tools were offered
    debug: bool = False  # say when calls were recovered from text
    _seen_ids: set[str] = field(default_factory=set)

    def feed(self, line: bytes | str) -> list[StreamEvent]:
        if not line.strip():
            return []
        try:
            chunk = json.loads(line)
        except ValueError:
            raise BackendError(
                f"Ollama sent a line that is not JSON: {_preview(line)}", hint="check that --host points at Ollama"
            ) from None
        if not isinstance(chunk, dict):
            raise BackendError(f"Ollama sent an unexpected line: {_preview(line)}")
        if "error" in chunk:
            raise BackendError(f"Ollama stopped with an error: {chunk['error']}", hint="retry")
        events: list[StreamEvent] = []
        message = chunk.get("message")
        if isinstance(message, dict):
            thinking = message.get("thinking")
            if isinstance(thinking, str) and thinking:
                events.append(ThinkingDelta(text=thinking))
            content = message.get("content")
            if isinstance(content, str) and content:
                self.shown = True
                if self.recovery is not None:
                    events.extend(self.recovery.feed(content))
                else:
                    events.append(TextDelta(text=content))
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                events.extend(self._tool_call(raw) for raw in calls)
        if events:
            self.shown = True
        if chunk.get("done") is True:
            self.done = True
            events.extend(self._finish(chunk))
        return events

    def _tool_call(self, raw: Any) -> ToolCall | MalformedToolCall:
        self.tool_calls += 1
        function = raw.get("function") if isinstance(raw, dict) else None
        call_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(call_id, str) or not call_id or call_id in self._seen_ids:
            call_id = new_call_id()
        self._seen_ids.add(call_id)
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            return MalformedToolCall(id=call_id, raw=json.dumps(raw), error="the tool call has no function name")
        name = function["name"]
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):  # some cloud models send the arguments as a JSON string
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                return MalformedToolCall(id=call_id, name=name, raw=function["arguments"], error=f"arguments: {exc}")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            return MalformedToolCall(
                id=call_id, name=name, raw=json.dumps(arguments), error="arguments must be a JSON object"
            )
        return ToolCall(id=call_id, name=name, arguments=arguments)

    def _finish(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self.recovery is not None:
            events.extend(self.recovery.finish())
            self.tool_calls += self.recovery.recovered
            notice = self.recovery.notice()
            if notice is not None and self.debug:
                events.append(notice)
        prompt_tokens = chunk.get("prompt_eval_count")
        prompt_tokens = prompt_tokens if isinstance(prompt_tokens, int) else 0
        completion_tokens = chunk.get("eval_count")
        completion_tokens = completion_tokens if isinstance(completion_tokens, int) else 0
        if prompt_was_cut(prompt_tokens, self.num_ctx, self.estimated_prompt_tokens):
            events.append(
                Notice(
                    level="warning",
                    text=(
                        f"the conversation did not fit {self.model}'s context of {self.num_ctx} tokens: "
                        f"Ollama kept {prompt_tokens} tokens and dropped the oldest part "
                        "(raise max_context, or start a new session)"
                    ),
                )
            )
        reason = chunk.get("done_reason")
        stop: StopReason
        if self.tool_calls:
            stop = "tool_calls"
        else:
            stop = _STOP_REASONS.get(reason, "stop") if isinstance(reason, str) else "stop"
        events.append(
            Done(
                stop_reason=stop,
                usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
                timings=Timings(
                    load_ms=_ms(chunk.get("load_duration")),
                    prompt_ms=_ms(chunk.get("prompt_eval_duration")),
                    generation_ms=_ms(chunk.get("eval_duration")),
                    first_token_ms=self.first_token_ms,
                ),
            )
        )
        return events


def _preview(line: bytes | str) -> str:
    text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    text = text.strip()
    return text if len(text) <= 80 else text[:77] + "..."
