"""The agent loop: ask the model, stream what it says, run the tools it calls, repeat.

``run()`` loops on ``step()``, which is ``query()`` then ``execute()``. Every way
out other than a final answer is a :class:`~agentshell.loop.limits.LoopExit`.
Nothing here knows about terminals, JSON or disks: those sit behind the ports
in :mod:`agentshell.loop.ports`, and what a run produces is in :mod:`agentshell.loop.outcomes`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial

from agentshell.loop.context import summarize
from agentshell.loop.limits import Blocked, CallGuard, Declined, Interrupted, Limits, RepeatedToolCall, TurnLimitReached
from agentshell.loop.outcomes import PermissionDenial, ReplyParts, RunOutcome, ToolOutcome, TurnStatus
from agentshell.loop.ports import ContextFitter, Observer, RequestHooks, ToolExecutor, TranscriptSink
from agentshell.protocol import (
    Backend,
    BackendFailure,
    ChatOptions,
    Done,
    MalformedToolCall,
    Message,
    Notice,
    ToolCall,
    ToolCallRequest,
)
from agentshell.redact import redact
from agentshell.tools.base import ToolResult, plural


class Agent:
    """One conversation: its messages, the model answering now, and the ports it reports through."""

    def __init__(self, backend: Backend, model: str, tools: ToolExecutor, observer: Observer, *,
                 system_prompt: str = "", options: ChatOptions | None = None, limits: Limits | None = None,
                 session: TranscriptSink | None = None, context: ContextFitter | None = None,
                 messages: Iterable[Message] = (), hooks: RequestHooks | None = None) -> None:  # fmt: skip
        self.backend, self.model, self.tools, self.observer = backend, model, tools, observer
        self.system_prompt, self.session, self.context, self.hooks = system_prompt, session, context, hooks
        self.options, self.limits = options or ChatOptions(), limits or Limits()
        self.messages: list[Message] = [m for m in messages if m.role != "system"]
        self.guard = CallGuard(self.limits)
        self._last_note: str | None = None
        self._stop: str | None = None  # set by stop_after_call: the turn ends once the running call is answered
        self.outcome = RunOutcome()

    def switch(self, backend: Backend, model: str, context: ContextFitter | None) -> None:
        """Carry the conversation over to another model: messages are backend-neutral."""
        self.backend, self.model, self.context = backend, model, context

    def run(self, prompt: str) -> RunOutcome:
        self.outcome = RunOutcome()
        self._stop = None
        self.guard.new_request()
        if self.hooks is not None:
            prompt, refused = self.hooks.before_request(prompt)
            if refused is not None:
                raise Blocked(refused)
        self._append(Message(role="user", content=prompt))
        while not self.step():
            pass
        return self.outcome

    def step(self) -> bool:
        """One model request and its tool calls; True when the model gave its final answer."""
        if self.outcome.turns >= self.limits.max_turns:
            turns = plural(self.outcome.turns, "model request")
            raise TurnLimitReached(f"stopped after {turns} (--max-turns); the task is unfinished")
        reply = self.query()
        if not reply.tool_calls:
            self.outcome.result, self.outcome.stop_reason = reply.content, "stop"
            go_on = self.hooks.after_answer(reply.content) if self.hooks is not None else None  # Stop hooks
            if go_on:
                self._append(Message(role="user", content=go_on))
            return not go_on
        self.execute(reply.tool_calls)
        return False

    def query(self) -> Message:
        self.outcome.turns += 1
        specs = self.tools.specs()
        request = self._fit(force=False)
        parts = ReplyParts()
        stream = self.backend.chat(self.model, request, tools=specs, options=self.options)
        try:
            for event in stream:
                if isinstance(event, ToolCall):
                    event = self.guard.screen(event)
                self.observer.on_event(event)
                if isinstance(event, ToolCall):
                    parts.calls.append(ToolCallRequest(id=event.id, name=event.name, arguments=event.arguments))
                elif isinstance(event, MalformedToolCall):
                    parts.calls.append(self.guard.malformed(event))
                else:
                    parts.add(event)
        except (KeyboardInterrupt, BackendFailure) as exc:
            if parts.text or parts.thinking:  # what the user saw stays in the transcript
                self._append(parts.message(interrupted=True))
            if isinstance(exc, KeyboardInterrupt):
                raise Interrupted("interrupted; the partial answer is kept") from None
            raise
        finally:
            getattr(stream, "close", lambda: None)()
        reply = parts.message()
        self._append(reply)
        self._account(parts.done, request)
        return reply

    def execute(self, calls: Sequence[ToolCallRequest]) -> None:
        for index, call in enumerate(calls):
            self.observer.on_tool_start(call)
            try:
                result = self._run_one(call)
            except KeyboardInterrupt:
                for unanswered in calls[index:]:
                    self._answer(unanswered, ToolResult("error: cancelled by the user (Ctrl-C)", is_error=True), True)
                raise Interrupted("interrupted; the tool was stopped") from None
            except RepeatedToolCall:
                self._answer(call, ToolResult("error: not run, the same call was repeated", is_error=True), False)
                raise
            self._answer(call, result, False)
            if self._stop is not None:
                for unanswered in calls[index + 1 :]:
                    self._answer(unanswered, ToolResult(f"error: not run: {self._stop}", is_error=True), False)
                reason, self._stop = self._stop, None
                raise Declined(reason)

    def stop_after_call(self, reason: str) -> None:
        """End the turn once the running tool call is answered (the user declined it); the rest are not run."""
        self._stop = reason

    def compact(self) -> str | None:
        """``/compact``: summarize older turns now; returns the note for the user."""
        self._fit(force=True)
        return self._last_note

    # ------------------------------------------------------------------ internals

    def _run_one(self, call: ToolCallRequest) -> ToolOutcome:
        refusal = self.guard.vet(call)
        if refusal is not None:
            return refusal
        result = self.tools.execute(call.name, dict(call.arguments))
        self.guard.record(call, result.output)
        return result

    def _answer(self, call: ToolCallRequest, result: ToolOutcome, interrupted: bool) -> None:
        self.observer.on_tool_result(call, result)
        self.outcome.tool_calls.append(call)
        if result.denied:
            self.outcome.permission_denials.append(PermissionDenial(call, result.output))
        # A key a command printed (env, a config file it read) is masked before any model server sees it.
        content = redact(result.output)
        self._append(
            Message(role="tool", content=content, tool_call_id=call.id, name=call.name, interrupted=interrupted)
        )

    def _append(self, message: Message) -> None:
        self.messages.append(message)
        if self.session is not None:
            self.session.append(message, backend=self.backend.name, model=self.model)

    def _fit(self, *, force: bool) -> list[Message]:
        self._last_note = None
        system = [Message(role="system", content=self.system_prompt)] if self.system_prompt else []
        if self.context is None:
            return system + self.messages
        fit = self.context.fit(
            self.backend,
            self.model,
            system + self.messages,
            self.tools.specs(),
            summarize=partial(summarize, self.backend, self.model, self.options),
            force=force,
        )
        if fit.compacted:
            self.messages = [m for m in fit.messages if m.role != "system"]
            self._last_note = fit.note
            if fit.note and not force:
                self.observer.on_event(Notice(level="info", text=fit.note))
            if self.session is not None:
                self.session.record_compaction(self.messages)
        return [*fit.messages]

    def _account(self, done: Done, request: Sequence[Message]) -> None:
        usage = done.usage
        self.outcome.prompt_tokens += usage.prompt_tokens
        self.outcome.completion_tokens += usage.completion_tokens
        share = None
        if self.context is not None:
            if usage.prompt_tokens:
                self.context.observe(usage.prompt_tokens, request, self.tools.specs())
            share = self.context.share(usage.prompt_tokens + usage.completion_tokens)
        self.observer.on_turn_end(TurnStatus(self.backend.name, self.model, usage, share))
