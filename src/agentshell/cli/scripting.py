"""``agent launch`` without a person at the keyboard: -p, stdin, or both; text, json or stream-json.

A thin client of :class:`agentshell.api.Agent`: one run, its events written as the format asks.
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
from agentshell.protocol import ToolCallRequest

if TYPE_CHECKING:  # the JSON writer costs a few ms to import; a text run never needs it
    from agentshell.api.events import ResultEvent, StreamEvent
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


class ScriptProgress:
    """What a scripted run shows besides its answer: stdout gets the writer's JSON lines (stream-json) or
    nothing until the end; notices go to stderr.

    Each tool call leaves one line on stderr (with stream-json, stdout has it instead); when stderr is
    a terminal, a ``loading`` notice is a spinner there until the next event or notice.
    """

    def __init__(self, err: TextIO, writer: StreamJsonWriter | None = None) -> None:
        self.err = err
        self.writer = writer
        self._tty = err.isatty()
        self._spinner: Any = None  # rich Status, imported only when there is something to spin for
        self._calls: dict[str, ToolCallRequest] = {}  # by id: what each tool_result line is about

    def on_event(self, event: StreamEvent) -> None:
        """The run's :class:`agentshell.api.EventSink`."""
        self._stop_spinner()
        if self.writer is not None:
            self.writer.write(event)
        elif event.type == "tool_call":
            self._calls[event.id] = ToolCallRequest(id=event.id, name=event.name, arguments=event.arguments)
        elif event.type == "tool_result":
            call = self._calls.pop(event.id, None) or ToolCallRequest(id=event.id, name=event.name)
            what = one_line(event.summary) or ("error" if event.is_error else "done")
            self.err.write(f"agent: {call_title(call, 100)} · {what}\n")  # call_title is terminal-safe
            self.err.flush()

    def notice(self, line: str) -> None:
        """The agent's :class:`agentshell.api.NoticeSink`."""
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
    progress = ScriptProgress(sys.stderr, writer)
    try:
        text = compose_prompt(prompt, read_stdin(sys.stdin))
        agent = Agent.from_options(opts, approve=None, on_notice=progress.notice)
    except (Exception, KeyboardInterrupt) as exc:
        progress.close()
        _not_started(exc, opts, output_format, writer, started)
        raise  # the one line on stderr and the exit code: cli/failures.py
    try:
        with agent:
            result = _run(agent, text, progress)
    finally:
        progress.close()
    _finish(result, output_format)
    return result.exit_code


def _run(agent: Agent, text: str, progress: ScriptProgress) -> ResultEvent:
    if text.startswith("/"):  # -p "/NAME args" (docs/extensions.md): the command's model, for the whole run
        from agentshell.cli import custom_commands

        parts = agent.parts
        model = (parts.backend, parts.model)
        text = custom_commands.script_prompt(parts, text, progress.notice)
        if (parts.backend, parts.model) != model:
            agent.loop.switch(parts.backend, parts.model, parts.context)
    if progress.writer is not None:
        progress.writer.emit(agent.init_event())
    return agent.run(text, on_event=progress.on_event)


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
