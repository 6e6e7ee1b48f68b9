"""``agent launch`` without a person at the keyboard: -p, stdin, or both; text, json or stream-json.

stdout carries only the answer (text) or the JSON objects; everything else goes
to stderr. Nothing is ever asked: a tool call that would need approval is
denied and the model is told which flag would allow it.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from agentshell.cli.assemble import Assembly, LaunchOptions, assemble, stderr_notice
from agentshell.cli.calltitle import call_title
from agentshell.cli.failures import classify
from agentshell.cli.formats import OutputFormat
from agentshell.cli.safe_text import for_stream, one_line
from agentshell.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, UsageError
from agentshell.loop.agent import Agent
from agentshell.loop.limits import Limits, LoopExit
from agentshell.loop.outcomes import RunOutcome, ToolOutcome, TurnStatus
from agentshell.protocol import Event, Notice, ToolCallRequest

if TYPE_CHECKING:  # the JSON models cost ~30 ms to build; a text run never needs them
    from agentshell.cli.jsonout import StreamJsonWriter


def compose_prompt(prompt: str | None, stdin_text: str | None) -> str:
    """stdin is context that comes before the prompt: ``cat build.log | agent launch -p "why?"``."""
    parts = [p for p in (stdin_text, prompt) if p is not None and p.strip()]
    if not parts:
        raise UsageError('nothing to do: give a prompt with -p "..." or pipe one on stdin')
    return "\n\n".join(part.rstrip("\n") for part in parts)


def read_stdin(stream: TextIO) -> str | None:
    if stream.isatty():
        return None
    data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode()
    return data.decode("utf-8", errors="replace")


class QuietObserver:
    """Scripted runs: stdout gets only the writer's JSON lines (or nothing until the end); notices go to stderr.

    Each tool call leaves one line on stderr (with stream-json, stdout has them instead); when stderr is
    a terminal, a ``loading`` notice is a spinner there until the model's first content.
    """

    def __init__(self, err: TextIO, writer: StreamJsonWriter | None = None) -> None:
        self.err = err
        self.writer = writer
        self._tty = err.isatty()
        self._spinner: Any = None  # rich Status, imported only when there is something to spin for

    def on_event(self, event: Event) -> None:
        if isinstance(event, Notice):
            self.on_notice(event)
            return
        self._stop_spinner()
        if self.writer is not None:
            self.writer.on_event(event)

    def on_notice(self, notice: Notice) -> None:
        self._stop_spinner()
        if notice.level == "loading":
            if self._tty:
                from rich.console import Console

                self._spinner = Console(file=self.err).status(one_line(notice.text))
                self._spinner.start()
            return
        self.err.write(f"agent: {notice.level}: {for_stream(notice.text, self.err)}\n")
        self.err.flush()

    def on_tool_start(self, call: ToolCallRequest) -> None:
        self._stop_spinner()

    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None:
        if self.writer is not None:
            self.writer.on_tool_result(call, result)
        else:
            what = one_line(result.summary) or ("error" if result.is_error else "done")
            self.err.write(f"agent: {call_title(call, 100)} · {what}\n")  # call_title is terminal-safe
            self.err.flush()

    def on_turn_end(self, status: TurnStatus) -> None:
        self._stop_spinner()

    def close(self) -> None:
        self._stop_spinner()

    def _stop_spinner(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None


def run_script(opts: LaunchOptions, prompt: str | None, output_format: OutputFormat) -> int:
    """Run the loop once and write its outcome; returns the exit code."""
    started = time.monotonic()
    out, err = sys.stdout, sys.stderr
    writer = None
    if output_format == "stream-json":
        from agentshell.cli.jsonout import StreamJsonWriter

        writer = StreamJsonWriter(out)
    observer = QuietObserver(err, writer)
    try:
        text = compose_prompt(prompt, read_stdin(sys.stdin))
        parts = assemble(opts, ask=None, notice=stderr_notice)
    except (Exception, KeyboardInterrupt) as exc:
        _not_started(exc, opts, output_format, writer, started)
        raise  # the one line on stderr and the exit code: cli/failures.py
    try:
        return _run(parts, text, opts, observer, writer, output_format, started)
    finally:
        parts.close()


def _not_started(
    exc: BaseException,
    opts: LaunchOptions,
    output_format: OutputFormat,
    writer: StreamJsonWriter | None,
    started: float,
) -> None:
    """A run that cannot start (server down, unknown model or session) still ends in one result object,
    so ``| jq -r .result`` and stream readers always get one (docs/scripting.md)."""
    if output_format == "text":
        return
    from agentshell.cli.jsonout import ErrorEvent, build_result, dump_redacted

    code, error = classify(exc) or (EXIT_FAILURE, f"internal error: {type(exc).__name__}: {exc} (please report this)")
    result = build_result(
        RunOutcome(stop_reason="error"),
        session_id=None,
        backend=opts.backend or "",
        model=opts.model or "",
        duration_ms=int((time.monotonic() - started) * 1000),
        exit_code=code,
        error=error,
    )
    if writer is not None:
        writer.emit(ErrorEvent(message=error, kind=type(exc).__name__, exit_code=code))
        writer.emit(result)
    else:
        sys.stdout.write(dump_redacted(result, indent=2) + "\n")
        sys.stdout.flush()


def _run(
    parts: Assembly,
    text: str,
    opts: LaunchOptions,
    observer: QuietObserver,
    writer: StreamJsonWriter | None,
    output_format: OutputFormat,
    started: float,
) -> int:
    session_id = parts.session.id if parts.session is not None else None
    if text.startswith("/"):  # -p "/NAME args" (docs/extensions.md)
        from agentshell.cli import custom_commands

        text = custom_commands.script_prompt(parts, text, stderr_notice)
    if writer is not None:
        from agentshell.cli.jsonout import CheckpointEvent, HookEvent, InitEvent

        writer.emit(
            InitEvent(
                session_id=session_id,
                backend=parts.backend.name,
                model=parts.model,
                cwd=str(opts.workspace),
                tools=[spec.name for spec in parts.tools.specs()],
                permission_mode=parts.config.settings.permission_mode,
            )
        )
        emit = writer.emit
        parts.checkpoints.listeners.append(
            lambda cp: emit(CheckpointEvent(id=cp.id, session_id=cp.session, request=cp.request))
        )
        if parts.extensions is not None:
            parts.extensions.hooks.listeners.append(lambda run: emit(HookEvent.of(run)))
    agent = Agent(
        parts.backend,
        parts.model,
        parts.checkpoints.guard(parts.tools),
        observer,
        system_prompt=parts.system_prompt,
        options=parts.options,
        limits=Limits(max_turns=parts.config.settings.max_turns),
        session=parts.session,
        context=parts.context,
        messages=parts.session.messages if parts.session is not None else (),
        hooks=parts.hooks,
    )
    code, error, kind = EXIT_OK, None, ""
    parts.checkpoints.begin_request(parts.session.id, text, len(agent.messages))
    try:
        outcome = agent.run(text)
    except (Exception, KeyboardInterrupt) as exc:  # whatever ends the run (a full disk, a bug), a result follows
        outcome = agent.outcome
        if opts.debug:
            import traceback

            traceback.print_exc()
        bug = f"internal error: {type(exc).__name__}: {exc} (please report this; --debug shows where)"
        known = classify(exc) or (EXIT_FAILURE, bug)
        code, error, kind = known[0], known[1], type(exc).__name__
        outcome.stop_reason = (
            exc.stop_reason if isinstance(exc, LoopExit) else ("interrupted" if code == EXIT_INTERRUPTED else "error")
        )
    observer.close()
    _finish(parts, outcome, output_format, writer, session_id, started, code, error, kind)
    return code


def _finish(
    parts: Assembly,
    outcome: RunOutcome,
    output_format: OutputFormat,
    writer: StreamJsonWriter | None,
    session_id: str | None,
    started: float,
    code: int,
    error: str | None,
    kind: str,
) -> None:
    if writer is not None or output_format == "json":
        from agentshell.cli.jsonout import ErrorEvent, build_result, dump_redacted

        duration_ms = int((time.monotonic() - started) * 1000)
        result = build_result(
            outcome,
            session_id=session_id,
            backend=parts.backend.name,
            model=parts.model,
            duration_ms=duration_ms,
            exit_code=code,
            error=error,
        )
        if writer is not None:
            if error is not None:
                writer.emit(ErrorEvent(message=error, kind=kind, exit_code=code))
            writer.emit(result)
        else:
            sys.stdout.write(dump_redacted(result, indent=2) + "\n")
    elif outcome.result and code == EXIT_OK:  # on a terminal, the model's escape sequences are shown, not obeyed
        sys.stdout.write(for_stream(outcome.result.rstrip("\n"), sys.stdout) + "\n")
    sys.stdout.flush()
    if error is not None:
        prefix = "agent: " if code == EXIT_INTERRUPTED else "agent: error: "
        sys.stderr.write(f"{prefix}{for_stream(error, sys.stderr)}\n")
        sys.stderr.flush()
