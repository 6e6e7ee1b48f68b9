"""What a person sees: streamed Markdown, dimmed thinking, tool panels, the status line.

Rich's ``Markdown`` parses and lays out its whole input, so re-rendering the
answer on every token costs O(n²). :class:`MarkdownStream` instead cuts the
stream into blocks (paragraphs, lists, fenced code) and prints each finished
block exactly once; only the open block is shown live, throttled in time and
cropped to the screen, so the total cost grows linearly with the answer.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.segment import SegmentLines
from rich.status import Status
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from agentshell.cli.answer_markdown import AnswerMarkdown
from agentshell.cli.calltitle import call_title
from agentshell.cli.safe_text import one_line, terminal_safe
from agentshell.cli.toolview import CommandProgress, diff_renderable, tool_view
from agentshell.loop.outcomes import ToolOutcome, TurnStatus
from agentshell.permissions.gate import ApprovalRequest
from agentshell.protocol import (
    Done,
    Event,
    MalformedToolCall,
    Message,
    Notice,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallRequest,
    Usage,
)

if TYPE_CHECKING:
    from agentshell.session import SessionSummary

THINKING_SHOWN = 240  # characters of thinking kept on screen: enough to follow, short enough to skim past
PROMPT_MARK = "› "  # what the REPL's prompt looks like, to show an earlier request as it was typed
RESUMED_LINES_SHOWN = 12  # of the last answer, when a session is resumed


def _fence_of(line: str) -> str | None:
    stripped = line.lstrip()
    for char in "`~":
        if stripped.startswith(char * 3):
            return char * (len(stripped) - len(stripped.lstrip(char)))
    return None


class MarkdownStream:
    """Prints Markdown as it arrives: finished blocks once, the open block live."""

    def __init__(self, console: Console, *, live_interval: float = 0.08, code_theme: str = "monokai") -> None:
        self.console = console
        self.live_interval = live_interval
        self.code_theme = code_theme
        self._open: list[str] = []  # complete lines of the block being written
        self._partial = ""  # the line being written
        self._fence: str | None = None  # the fence that opened the current code block
        self._live: Live | None = None
        self._last_live = 0.0
        self._blocks_printed = 0  # in this answer, for the blank line rich puts between blocks

    def feed(self, text: str) -> None:
        if "\n" not in text:
            self._partial += text
        else:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
            for line in lines:
                self._line(line)
        if self.console.is_terminal and (self._open or self._partial):
            now = time.monotonic()
            if now - self._last_live >= self.live_interval:
                self._last_live = now
                self._show_live()

    def finish(self) -> None:
        """The answer (or this part of it) is over: print what is left."""
        if self._partial:
            self._open.append(self._partial)
            self._partial = ""
        self._fence = None
        self._flush()
        self._blocks_printed = 0

    def pause(self) -> None:
        """Hide the live preview (another live display, a spinner, needs the screen); the text is kept."""
        self._stop_live()

    def _line(self, line: str) -> None:
        fence = _fence_of(line)
        if self._fence is not None:
            self._open.append(line)
            if fence is not None and fence.startswith(self._fence) and not line.strip().lstrip(fence[0]):
                self._fence = None
                self._flush()
        elif fence is not None:
            self._flush()
            self._fence = fence
            self._open.append(line)
        elif not line.strip():
            self._flush()
        else:
            self._open.append(line)

    def _flush(self) -> None:
        self._stop_live()
        if self._open:
            # Model text: an escape sequence in it must not reach the terminal (cli/safe_text.py).
            markdown = AnswerMarkdown(terminal_safe("\n".join(self._open)), code_theme=self.code_theme)
            lines = self.console.render_lines(markdown, pad=False)
            while lines and not "".join(segment.text for segment in lines[0]):
                lines.pop(0)  # some elements (lists) start with an empty line; blocks get exactly one between them
            if self._blocks_printed:
                self.console.print()
            self.console.print(SegmentLines(lines, new_lines=True))
            self._blocks_printed += 1
            self._open = []

    def _show_live(self) -> None:
        # Only the last screenful can be seen, so only that is laid out.
        lines = [*self._open, self._partial] if self._partial else list(self._open)
        tail = max(4, self.console.size.height - 2)
        if len(lines) > tail:
            lines = ([lines[0]] if self._fence is not None else []) + lines[-tail:]
        renderable = AnswerMarkdown(terminal_safe("\n".join(lines)), code_theme=self.code_theme)
        if self._live is None:
            self._live = Live(
                renderable, console=self.console, auto_refresh=False, transient=True, vertical_overflow="crop"
            )
            self._live.start()
        self._live.update(renderable, refresh=True)

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def last_exchange(messages: Sequence[Message]) -> RenderableType:
    """Where a resumed conversation stopped: the last request and the end of its answer."""
    asked = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "user"), None)
    if asked is None:
        return Text("")
    prompt = messages[asked].content.strip().splitlines() or [""]
    shown: list[RenderableType] = [
        Text(
            f"{PROMPT_MARK}{one_line(prompt[0])}" + (" …" if len(prompt) > 1 else ""),
            style="dim",
            no_wrap=True,
            overflow="ellipsis",
        )
    ]
    answers = [m.content for m in messages[asked + 1 :] if m.role == "assistant" and m.content.strip()]
    if answers:
        lines = answers[-1].strip().splitlines()
        if len(lines) > RESUMED_LINES_SHOWN:
            shown.append(Text(f"… {len(lines) - RESUMED_LINES_SHOWN} earlier lines", style="dim"))
            lines = lines[-RESUMED_LINES_SHOWN:]
        shown.append(AnswerMarkdown(terminal_safe("\n".join(lines))))  # model text: shown, never obeyed
    elif messages[-1].role == "tool":
        shown.append(Text("(the answer was not finished)", style="dim"))
    return Group(*shown)


def session_table(sessions: Sequence[SessionSummary], *, numbered: bool = False) -> Table:
    """The sessions a user may pick from, newest first; the key to press leads each row."""
    table = Table(box=None, show_header=False, pad_edge=False)
    if numbered:
        table.add_column(style="bold", no_wrap=True)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(style="dim", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    for number, summary in enumerate(sessions, start=1):
        when = summary.updated.astimezone().strftime("%m-%d %H:%M")
        model = f"{summary.backend}:{summary.model}" if summary.backend else ""
        cells = [when, f"{summary.messages} msgs", one_line(model), one_line(summary.title)]
        table.add_row(*([f"{number}"] if numbered else []), *(Text(cell) for cell in cells))  # titles are not markup
    return table


def status_line(status: TurnStatus) -> str:
    share = f"{status.share:.0%} of context" if status.share is not None else "context size unknown"
    usage = status.usage
    return f"{status.backend} · {status.model} · {usage.prompt_tokens:,} in / {usage.completion_tokens:,} out · {share}"


class TerminalRenderer:
    """The interactive :class:`~agentshell.loop.ports.Observer`: rich on the terminal."""

    def __init__(self, console: Console, err_console: Console | None = None, *, show_status: bool = True) -> None:
        self.console = console
        self.err = err_console or console
        self.show_status = show_status
        self.markdown = MarkdownStream(console)
        self._thinking: list[str] = []
        self._spinner: Status | Live | None = None
        self._command: CommandProgress | None = None  # the running command, shown by the Live in _spinner
        self._running: ToolCallRequest | None = None  # the call between on_tool_start and its result
        self._diff_approved = False  # the running call's diff was in its approval: the result does not repeat it
        self._calls_this_request = 0
        self._pending_out = 0  # completion tokens of this answer's requests so far

    # ------------------------------------------------------------------ Observer

    def on_event(self, event: Event) -> None:
        if isinstance(event, Notice):
            self.on_notice(event)
            return
        if not isinstance(event, ThinkingDelta):
            self._end_thinking()
        if isinstance(event, TextDelta):
            self._stop_spinner()
            self.markdown.feed(event.text)
        elif isinstance(event, ThinkingDelta):
            if not self._thinking:
                self._start_spinner("thinking…")
            self._thinking.append(event.text)
        elif isinstance(event, ToolCall | MalformedToolCall | Done):
            self._stop_spinner()
            self.markdown.finish()
            self._calls_this_request += not isinstance(event, Done)

    def on_tool_start(self, call: ToolCallRequest) -> None:
        self._diff_approved = False
        self._running = call
        self._show_running(call)

    def approved(self) -> None:
        """The user said yes: the call runs now, so its progress comes back (the question had replaced it)."""
        if self._running is not None:
            self._show_running(self._running)

    def _show_running(self, call: ToolCallRequest) -> None:
        if call.name != "bash" or not self.err.is_terminal:
            self._start_spinner(call_title(call, 100))
            return
        self._stop_spinner()
        self.markdown.pause()
        self._command = CommandProgress(call)
        self._spinner = Live(self._command, console=self.err, refresh_per_second=4, transient=True)
        self._spinner.start()

    def on_command_output(self, chunk: bytes) -> None:
        """What a running command prints, as it prints it (``ToolContext.on_output``, tools/shell.py)."""
        if self._command is not None:
            self._command.feed(chunk)

    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None:
        self._running = None
        self._stop_spinner()
        self.console.print(tool_view(call, result, diff_shown=self._diff_approved))
        self._diff_approved = False

    def on_turn_end(self, status: TurnStatus) -> None:
        """One status line per answer, not per request: the requests that only call tools add their output."""
        self._stop_spinner()
        self.markdown.finish()
        self._pending_out += status.usage.completion_tokens
        if self._calls_this_request:
            self._calls_this_request = 0
            return
        usage = Usage(prompt_tokens=status.usage.prompt_tokens, completion_tokens=self._pending_out)
        self._pending_out = 0
        if self.show_status:
            self.err.print(Text(status_line(dataclasses.replace(status, usage=usage)), style="dim"))

    def on_notice(self, notice: Notice) -> None:
        if notice.level == "loading":
            self._start_spinner(notice.text)
        else:
            self._stop_spinner()
            style = "yellow" if notice.level == "warning" else "dim"
            self.err.print(Text(f"{notice.level}: {terminal_safe(notice.text)}", style=style))

    # ------------------------------------------------------------------ beyond the loop

    def reset(self) -> None:
        """The answer ended early (Ctrl-C, an error): close whatever is on screen so the prompt comes back clean."""
        self._calls_this_request = self._pending_out = 0
        self._running = None
        self._stop_spinner()
        self._end_thinking()
        self.markdown.finish()

    def interrupted(self) -> None:
        self.reset()
        self.err.print(Text("interrupted", style="yellow"))

    def show_approval(self, request: ApprovalRequest) -> None:
        """Show what asks for approval before the question: a command once, an edit with its diff."""
        self._stop_spinner()
        self.markdown.finish()
        parts: list[RenderableType] = []
        if request.kind == "execute" and request.detail:
            shown = "$ " + terminal_safe(request.detail)
            command = Syntax(shown, "bash", theme="ansi_dark", background_color="default", word_wrap=True)
            parts.append(command)
        else:
            parts.append(Text(one_line(request.summary), style="bold"))
            if request.detail:
                is_diff = request.detail.startswith(("---", "@@", "diff "))
                parts.append(diff_renderable(request.detail) if is_diff else Text(terminal_safe(request.detail)))
                self._diff_approved = is_diff
        if request.reason:
            parts.append(Text(one_line(request.reason), style="yellow"))
        self.console.print(Panel(Group(*parts), title="approve?", title_align="left", border_style="yellow"))

    # ------------------------------------------------------------------ internals

    def _end_thinking(self) -> None:
        if not self._thinking:
            return
        text = one_line("".join(self._thinking))
        self._thinking = []
        self._stop_spinner()
        if text:
            shown = text if len(text) <= THINKING_SHOWN else text[:THINKING_SHOWN] + "…"
            self.console.print(Text(f"✻ {shown}", style="dim italic"))

    def _start_spinner(self, text: str) -> None:
        self._stop_spinner()
        self.markdown.pause()
        if self.err.is_terminal:
            self._spinner = self.err.status(Text(text, style="dim"), spinner="dots")
            self._spinner.start()

    def _stop_spinner(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        self._command = None
