"""``agent launch`` without a person at the keyboard: -p, stdin, or both; text, json or stream-json.

A thin client of :class:`agentshell.api.Agent`: one run, and its result (json, text) or its events
(stream-json) written as the format asks; its progress lines come from the run's observer.
stdout carries only the answer (text) or the JSON objects; everything else goes to stderr. Nothing
is ever asked: a tool call that would need approval is denied and the model is told which flag would
allow it.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from agentshell.api.agent import Agent
from agentshell.cli.assemble import LOADING, LaunchOptions, stderr_notice
from agentshell.cli.calltitle import call_title
from agentshell.cli.formats import OutputFormat
from agentshell.cli.safe_text import for_stream, one_line
from agentshell.errors import EXIT_INTERRUPTED, UsageError
from agentshell.protocol import Event, Notice, ToolCallRequest

if TYPE_CHECKING:  # the JSON writer and the event models cost milliseconds to import; a text run needs neither
    from agentshell.api.result import ResultEvent
    from agentshell.cli.jsonout import StreamJsonWriter
    from agentshell.loop.outcomes import ToolOutcome, TurnStatus


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


class ScriptProgress:
    """What a scripted run shows besides its answer, as the run's observer (loop/ports.py): one line on stderr
    per tool call (with stream-json, stdout has the call instead) and the notices; when stderr is a terminal, a
    ``loading`` notice is a spinner there until the model's first content.
    """

    def __init__(self, err: TextIO, *, tool_lines: bool) -> None:
        self.err = err
        self.tool_lines = tool_lines
        self._tty = err.isatty()
        self._spinner: Any = None  # rich Status, imported only when there is something to spin for

    def on_event(self, event: Event) -> None:
        if isinstance(event, Notice):
            self.notice(f"{event.level}: {event.text}")
        else:
            self._stop_spinner()

    def on_tool_start(self, call: ToolCallRequest) -> None:
        self._stop_spinner()

    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None:
        if self.tool_lines:
            what = one_line(result.summary) or ("error" if result.is_error else "done")
            self.err.write(f"agent: {call_title(call, 100)} · {what}\n")  # call_title is terminal-safe
            self.err.flush()

    def on_turn_end(self, status: TurnStatus) -> None:
        self._stop_spinner()

    def notice(self, line: str) -> None:
        """The agent's :class:`agentshell.api.NoticeSink`, and the loop's notices."""
        self._stop_spinner()
        if line.startswith(LOADING) and self._tty:
            from rich.console import Console

            self._spinner = Console(file=self.err).status(one_line(line.removeprefix(LOADING)))
            self._spinner.start()
            return
        stderr_notice(line)

    def close(self) -> None:
        self._stop_spinner()

    def _stop_spinner(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None


def run_script(opts: LaunchOptions, prompt: str | None, output_format: OutputFormat) -> int:
    """Run the agent once on the prompt and write its outcome; returns the exit code."""
    started = time.monotonic()
    writer = None
    if output_format == "stream-json":
        from agentshell.cli.jsonout import StreamJsonWriter

        writer = StreamJsonWriter(sys.stdout)
    progress = ScriptProgress(sys.stderr, tool_lines=writer is None)
    try:
        text = compose_prompt(prompt, read_stdin(sys.stdin))
        agent = Agent.from_options(opts, approve=None, on_notice=progress.notice)
    except (Exception, KeyboardInterrupt) as exc:
        progress.close()
        _not_started(exc, opts, output_format, writer, started)
        raise  # the one line on stderr and the exit code: cli/failures.py
    try:
        with agent:
            result = _run(agent, text, progress, writer)
    finally:
        progress.close()
    _finish(result, output_format)
    return result.exit_code


def _run(agent: Agent, text: str, progress: ScriptProgress, writer: StreamJsonWriter | None) -> ResultEvent:
    if text.startswith("/"):  # -p "/NAME args" (docs/extensions.md): the command's model, for the whole run
        from agentshell.cli import custom_commands

        parts = agent.parts
        model = (parts.backend, parts.model)
        text = custom_commands.script_prompt(parts, text, progress.notice)
        if (parts.backend, parts.model) != model:
            agent.loop.switch(parts.backend, parts.model, parts.context)
    if writer is None:  # text, json: the result is all that is written
        return agent.run(text, observer=progress)
    writer.emit(agent.init_event())
    return agent.run(text, on_event=writer.write, observer=progress)


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
    from agentshell.api.agent import not_started
    from agentshell.cli.jsonout import dump_redacted

    error, result = not_started(exc, opts, int((time.monotonic() - started) * 1000))
    if writer is not None:
        writer.emit(error)
        writer.emit(result)
    else:
        sys.stdout.write(dump_redacted(result, indent=2) + "\n")
        sys.stdout.flush()


def _finish(result: ResultEvent, output_format: OutputFormat) -> None:
    """The answer or the json object on stdout (stream-json has written everything already); the error on stderr."""
    if output_format == "json":
        from agentshell.cli.jsonout import dump_redacted

        sys.stdout.write(dump_redacted(result, indent=2) + "\n")
    elif output_format == "text" and result.result and result.exit_code == 0:
        sys.stdout.write(for_stream(result.result.rstrip("\n"), sys.stdout) + "\n")  # shown, never obeyed
    sys.stdout.flush()
    if result.error is not None:
        prefix = "agent: " if result.exit_code == EXIT_INTERRUPTED else "agent: error: "
        sys.stderr.write(f"{prefix}{for_stream(result.error, sys.stderr)}\n")
        sys.stderr.flush()
