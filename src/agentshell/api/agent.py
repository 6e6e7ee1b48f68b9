"""One agent for one workspace and one conversation: what ``agent launch`` (-p, stream-json, the shell),
``agent acp`` and programs drive.

:func:`open_agent` builds it the way ``agent launch`` does (config file, environment,
options; the session, the backend, the tools behind the permission gate,
checkpoints, the sandbox: api/assembly.py), so an embedded agent behaves like the command.
:meth:`Agent.run` answers one prompt and reports it as the events stream-json
prints; :meth:`Agent.stream` is the same as an iterator. docs/embedding.md is the guide.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentshell.api.interrupt import RunInterrupter, absorb_late_interrupt
from agentshell.api.relay import EventRelay, call_event
from agentshell.api.result import ResultEvent, build_result
from agentshell.errors import EXIT_INTERRUPTED, EXIT_OK, UsageError
from agentshell.permissions.modes import PERMISSION_MODES, PermissionMode

if TYPE_CHECKING:
    from agentshell.api.assembly import Assembly, LaunchOptions, PickSession
    from agentshell.api.events import ErrorEvent, InitEvent, StreamEvent, ToolCallEvent
    from agentshell.loop.agent import Agent as Loop
    from agentshell.loop.ports import Observer
    from agentshell.permissions.gate import Approval, ApprovalRequest
    from agentshell.protocol import Message, ThinkLevel

EventSink = Callable[["StreamEvent"], None]
"""Receives each event of a run as it happens, the final ``result`` included."""
Approver = Callable[["ApprovalRequest"], "Approval"]
"""Answers a permission question: "yes", "no" or "always" (this exact call, for the rest of the session)."""
NoticeSink = Callable[[str], None]
"""Receives one line for the user that is not part of the answer ("warning: ...", "loading: ...")."""


def _ignore(line: str) -> None:
    pass


def open_agent(
    workspace: str | os.PathLike[str] = ".",
    model: str | None = None,
    *,
    backend: str | None = None,
    permission_mode: PermissionMode | None = None,
    allow: Sequence[str] = (),
    deny: Sequence[str] = (),
    approve: Approver | None = None,
    resume: str | None = None,
    continue_session: bool = False,
    max_turns: int | None = None,
    think: ThinkLevel | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    sandbox: bool | None = None,
    backend_options: Mapping[str, Any] | None = None,
    on_notice: NoticeSink | None = None,
) -> Agent:
    """An agent for ``workspace`` on ``model`` (any ``--model`` string; None: the configured default).

    Every argument is the ``agent launch`` flag of the same name, over the config file and the
    environment. ``approve`` is asked whenever the permission mode says "ask"; without it such
    calls are denied, as in ``agent launch -p``. ``resume`` takes a session id of this workspace.
    ``backend_options`` takes the backend flags: ``host``, ``base_url``, ``gpu_layers``.
    Raises :class:`~agentshell.errors.UserError` or :class:`~agentshell.protocol.BackendFailure`
    (one line each) when the agent cannot be built: bad options, unknown model or session, server down.
    """
    from agentshell.api.assembly import LaunchOptions

    options = LaunchOptions(
        model=model,
        backend=backend,
        max_turns=max_turns,
        permission_mode=permission_mode,
        allow=tuple(allow),
        deny=tuple(deny),
        continue_session=continue_session,
        resume=resume,
        backend_flags=dict(backend_options or {}),
        think=think,
        temperature=temperature,
        seed=seed,
        workspace=Path(workspace).expanduser(),
        sandbox=sandbox,
    )
    if resume == "":
        raise UsageError("resume needs a session id (`agent sessions list` shows them)")
    return Agent.from_options(options, approve=approve, on_notice=on_notice)


class Agent:
    """A conversation in a workspace with a model, tools and a permission mode; one run at a time.

    Use it as a context manager, or call :meth:`close`: the session file stays locked while it is open.
    ``agent launch`` (-p, stream-json input, the shell) and ``agent acp`` are built on it.
    """

    def __init__(self, parts: Assembly, *, on_notice: NoticeSink | None = None) -> None:
        """Prefer :func:`open_agent`; this takes parts already built by api/assembly.py."""
        from agentshell.loop.agent import Agent as Loop
        from agentshell.loop.limits import Limits

        self._parts = parts
        self._notice = on_notice or _ignore
        self._relay = EventRelay(self._notice)
        self._interrupter = RunInterrupter()
        self._busy = threading.Lock()
        self._closed = False
        # Read-only runs take no checkpoints (nothing changes files); a later mode may need them.
        self._checkpoints_for_later = parts.config.settings.permission_mode == "read-only"
        self._loop: Loop = Loop(
            parts.backend,
            parts.model,
            parts.checkpoints.guard(parts.tools),
            self._relay,
            system_prompt=parts.system_prompt,
            options=parts.options,
            limits=Limits(max_turns=parts.config.settings.max_turns),
            session=parts.session,
            context=parts.context,
            messages=parts.session.messages,
            hooks=parts.hooks,
        )
        parts.checkpoints.listeners.append(self._relay.on_checkpoint)
        if parts.extensions is not None:
            parts.extensions.hooks.listeners.append(self._relay.on_hook)

    @classmethod
    def from_options(
        cls,
        options: LaunchOptions,
        *,
        approve: Approver | None = None,
        on_notice: NoticeSink | None = None,
        pick: PickSession | None = None,
    ) -> Agent:
        """From ``agent launch``'s options, as the agent's own front ends build it; ``pick`` chooses the
        session when ``options.resume`` is "" (``--resume`` without an id), None when nobody can choose."""
        from agentshell.api.assembly import assemble

        notice = on_notice or _ignore
        return cls(assemble(options, ask=approve, notice=notice, pick=pick), on_notice=notice)

    # ------------------------------------------------------------------ what it is

    @property
    def session_id(self) -> str:
        """The session's id: ``agent launch --resume ID`` (or ``open_agent(resume=ID)``) goes on with it."""
        return self._parts.session.id

    @property
    def backend(self) -> str:
        return self._parts.backend.name

    @property
    def model(self) -> str:
        return self._parts.model

    @property
    def context_length(self) -> int | None:
        """The model's context window in tokens, None when unknown."""
        return self._parts.info.context_length

    @property
    def workspace(self) -> Path:
        return self._parts.workspace

    @property
    def permission_mode(self) -> PermissionMode:
        return self._parts.gate.mode

    @property
    def tools(self) -> list[str]:
        return [spec.name for spec in self._loop.tools.specs()]

    @property
    def messages(self) -> tuple[Message, ...]:
        """The conversation so far (protocol ``Message`` objects), without the system prompt."""
        return tuple(self._loop.messages)

    @property
    def running(self) -> bool:
        return self._busy.locked()

    @property
    def current_tool_call(self) -> ToolCallEvent | None:
        """The tool call being checked or run now: which call an approval question is about."""
        call = self._relay.running
        return call_event(call.id, call.name, call.arguments) if call is not None else None

    @property
    def parts(self) -> Assembly:
        """The pieces under the API (api/assembly.py), for what only agentshell's own front ends do with them
        (custom commands, ``/undo`` and ``/rewind``); not part of the public surface, they may change."""
        return self._parts

    @property
    def loop(self) -> Loop:
        """The agent loop (loop/agent.py) the runs go through; as :attr:`parts`, not part of the public surface."""
        return self._loop

    def init_event(self) -> InitEvent:
        """The ``init`` event stream-json starts with."""
        from agentshell.api.events import InitEvent

        return InitEvent(
            session_id=self.session_id,
            backend=self.backend,
            model=self.model,
            cwd=str(self.workspace),
            tools=self.tools,
            permission_mode=self.permission_mode,
        )

    # ------------------------------------------------------------------ runs

    def run(self, prompt: str, on_event: EventSink | None = None, *, observer: Observer | None = None) -> ResultEvent:
        """Answer ``prompt``, going on with the conversation; returns the ``result`` event.

        Never raises for what ends a run (backend failure, turn limit, cancel, Ctrl-C): the result
        says it (``is_error``, ``error``, ``stop_reason``, ``exit_code``), after an ``error`` event.
        ``on_event`` gets every event in order, in this thread, the result last. ``observer``, for a
        front end that draws more than the events carry (the shell), gets the loop's own callbacks
        (loop/ports.py) before the event each becomes, and the loop's notices instead of ``on_notice``.
        """
        if not prompt.strip():
            raise UsageError("the prompt is empty")
        self._enter()
        self._relay.begin(on_event, observer)
        started = time.monotonic()
        try:
            result = self._interruptible(prompt, started)
        finally:
            self._relay.end()
            self._busy.release()
        if on_event is not None:
            on_event(result)
        return result

    def stream(self, prompt: str) -> Iterator[StreamEvent]:
        """:meth:`run` as an iterator of its events, the ``result`` last. The run happens in a worker
        thread (``approve`` is called there); leaving the loop early cancels it."""
        events: queue.SimpleQueue[StreamEvent | None] = queue.SimpleQueue()

        def work() -> None:
            try:
                self.run(prompt, on_event=events.put)
            finally:
                events.put(None)

        self._check_open()
        worker = threading.Thread(target=work, name="agentshell-run", daemon=True)
        worker.start()
        try:
            while (event := events.get()) is not None:
                yield event
        finally:
            if worker.is_alive():
                self.cancel()
                worker.join()

    def cancel(self) -> bool:
        """Stop the run in progress, from any thread, as Ctrl-C would: the model's stream and the running
        command end, the partial answer stays in the conversation, the run returns with
        ``stop_reason`` "interrupted". False when nothing was running."""
        return self._interrupter.interrupt()

    def stop_after_call(self, reason: str) -> None:
        """From an approval callback: once the call asked about is answered, end the run (its other calls are
        not run, the model is told ``reason``; ``stop_reason`` "declined"). The shell does this after a "no",
        so the user says what to do instead rather than the model guessing on."""
        self._loop.stop_after_call(reason)

    # ------------------------------------------------------------------ settings

    def set_model(self, model: str, backend: str | None = None) -> None:
        """Go on with the conversation on another model (any ``--model`` string), as ``/model`` does.
        Raises, changing nothing, when the model cannot be resolved or described."""
        self._enter()
        try:
            self._parts.switch(model, backend)
            self._loop.switch(self._parts.backend, self._parts.model, self._parts.context)
        finally:
            self._busy.release()

    def set_permission_mode(self, mode: PermissionMode) -> None:
        """Switch the permission mode (docs/tools-and-permissions.md), also during a run: the next tool call
        is decided under it. Leaving read-only starts checkpoints; entering yolo starts the sandbox where
        one can run, unless the configuration turned it off, as at start-up."""
        if mode not in PERMISSION_MODES:
            raise UsageError(f"unknown permission mode {mode!r}: use one of {', '.join(PERMISSION_MODES)}")
        parts = self._parts
        if mode != "read-only" and self._checkpoints_for_later:
            self._checkpoints_for_later = False
            self._start_checkpoints()
        if mode == "yolo" and parts.tools.ctx.sandbox is None and parts.config.settings.sandbox is None:
            from agentshell.api import sandboxing

            yolo = parts.config.settings.model_copy(update={"permission_mode": "yolo"})
            parts.tools.ctx.sandbox = sandboxing.open_for_run(yolo, parts.workspace, self._notice)
        parts.gate.mode = mode

    def new_session(self) -> None:
        """Start the conversation over in a new session, as ``/clear`` does; the old one stays on disk."""
        self._enter()
        try:
            self._parts.fresh_session()
            self._loop.messages = []
            self._loop.session = self._parts.session
        finally:
            self._busy.release()

    def compact(self) -> str | None:
        """Summarize the older turns now to free context, as ``/compact`` does; returns the note for the user
        (None when there was nothing to compact). Raises a ``BackendFailure`` when the model cannot answer."""
        self._enter()
        try:
            return self._loop.compact()
        finally:
            self._busy.release()

    def close(self) -> None:
        """Release the session (its file stays, ``resume`` goes on with it). Safe to call twice."""
        if self._closed:
            return
        if self._busy.locked():
            raise UsageError("a run is in progress: cancel it and let it return before closing")
        self._closed = True
        self._parts.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _check_open(self) -> None:
        if self._closed:
            raise UsageError("this agent is closed")

    def _enter(self) -> None:
        self._check_open()
        if not self._busy.acquire(blocking=False):
            raise UsageError("a run is in progress: one prompt at a time")

    def _interruptible(self, prompt: str, started: float) -> ResultEvent:
        """The run between the interrupter's begin and end, so that no cancel can land after it."""
        self._interrupter.begin()
        result: ResultEvent | None = None
        signal_sent = False
        try:
            try:
                result = self._run(prompt, started)
            finally:
                signal_sent = self._interrupter.end()
        except KeyboardInterrupt:  # a cancel (or Ctrl-C) that came as the run ended: it ends nothing more
            self._interrupter.end()
            return result or self._result(started, EXIT_INTERRUPTED, "interrupted", "KeyboardInterrupt")
        if signal_sent and result.exit_code != EXIT_INTERRUPTED:
            absorb_late_interrupt()
        return result

    def _run(self, prompt: str, started: float) -> ResultEvent:
        parts = self._parts
        code, error, kind = EXIT_OK, None, ""
        try:
            parts.checkpoints.begin_request(parts.session.id, prompt, len(self._loop.messages))
            self._loop.run(prompt)
        except (Exception, KeyboardInterrupt) as exc:  # whatever ends the run (a full disk, a bug), a result follows
            from agentshell.api.failures import describe
            from agentshell.loop.limits import LoopExit

            if parts.debug:  # --debug: where it happened, as the command line shows it for any failure
                import traceback

                self._notice("debug: " + "".join(traceback.format_exception(exc)).rstrip())
            code, error = describe(exc)
            kind = type(exc).__name__
            self._loop.outcome.stop_reason = exc.stop_reason if isinstance(exc, LoopExit) else "error"
        return self._result(started, code, error, kind)

    def _result(self, started: float, code: int, error: str | None, kind: str) -> ResultEvent:
        outcome = self._loop.outcome
        if code == EXIT_INTERRUPTED:
            outcome.stop_reason = "interrupted"
        if error is not None and self._relay.sink is not None:
            from agentshell.api.events import ErrorEvent

            self._relay.sink(ErrorEvent(message=error, kind=kind, exit_code=code))
        return build_result(
            outcome,
            session_id=self.session_id,
            backend=self.backend,
            model=self.model,
            duration_ms=int((time.monotonic() - started) * 1000),
            exit_code=code,
            error=error,
            blocked=self._relay.blocked,
        )

    def _start_checkpoints(self) -> None:
        from agentshell.checkpoints.recorder import Checkpointer

        parts = self._parts
        checkpoints = Checkpointer.open(parts.workspace, self._notice)
        checkpoints.listeners.extend([parts.record_checkpoint, self._relay.on_checkpoint])
        parts.checkpoints = checkpoints
        self._loop.tools = checkpoints.guard(parts.tools)


def not_started(exc: BaseException, options: LaunchOptions, duration_ms: int) -> tuple[ErrorEvent, ResultEvent]:
    """The ``error`` and ``result`` a run that could not start ends with (server down, unknown model or
    session): a reader of json or stream-json always gets a result (docs/scripting.md)."""
    from agentshell.api.events import ErrorEvent
    from agentshell.api.failures import describe
    from agentshell.loop.outcomes import RunOutcome

    code, error = describe(exc)
    result = build_result(
        RunOutcome(stop_reason="error"),
        session_id=None,
        backend=options.backend or "",
        model=options.model or "",
        duration_ms=duration_ms,
        exit_code=code,
        error=error,
    )
    return ErrorEvent(message=error, kind=type(exc).__name__, exit_code=code), result
