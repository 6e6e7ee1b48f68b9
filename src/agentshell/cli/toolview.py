"""How a tool call looks on the terminal: a one-line header, then what a person needs of its result.

The header reads like what was done (``edit src/app.py (+1 −0)``, ``grep "def " in .``,
``$ pytest -q``), never the raw JSON arguments. A failing command shows the end of its
output, where the error is, with the exit code and how many lines were left out; while
a command runs, :class:`CommandProgress` shows its last lines and the elapsed time.
"""

from __future__ import annotations

import codecs
import re
import time
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.spinner import Spinner
from rich.syntax import Syntax
from rich.text import Text

from agentshell.cli.calltitle import call_title
from agentshell.cli.safe_text import one_line, terminal_safe
from agentshell.loop.limits import MALFORMED_NAME, MALFORMED_SUMMARY
from agentshell.loop.outcomes import ToolOutcome
from agentshell.protocol import ToolCallRequest

DIFF_LINES_SHOWN = 80
OUTPUT_LINES_SHOWN = 4  # of a command that worked: enough to see it did
ERROR_LINES_SHOWN = 10  # of one that failed: the end, where the error is
LIVE_LINES_SHOWN = 5  # of a command still running
_STATUS_LINE = re.compile(r"\n?\[(exit code -?\d+|killed by signal \d+|timed out after [^\]]*)\]\s*$")


def diff_counts(diff: str) -> tuple[int, int]:
    lines = diff.splitlines()
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return added, removed


def _output_lines(result: ToolOutcome) -> list[str]:
    """The output as lines, without the trailing ``[exit code N]`` the header already says."""
    text = _STATUS_LINE.sub("", result.output.rstrip())
    return [] if text.strip() in ("", "(no output)") else terminal_safe(text).splitlines()


def result_note(call: ToolCallRequest, result: ToolOutcome) -> str:
    """What the header adds after the call: ``(+1 −0)``, ``exit 1 · 30 lines``, ``12 matches``."""
    if result.diff and call.name in ("edit_file", "write_file"):
        added, removed = diff_counts(result.diff)
        created = "created, " if result.summary.startswith("created") else ""
        return f"({created}+{added} −{removed})"
    if call.name == "bash":
        return " · ".join(part.strip() for part in result.summary.split(",") if part.strip())
    return f"({one_line(result.summary)})" if result.summary else ""


def diff_renderable(diff: str) -> RenderableType:
    lines = diff.splitlines()
    if len(lines) > DIFF_LINES_SHOWN:
        lines = [*lines[:DIFF_LINES_SHOWN], f"… {len(lines) - DIFF_LINES_SHOWN} more lines"]
    return Syntax("\n".join(lines), "diff", theme="ansi_dark", background_color="default", word_wrap=True)


def tool_view(call: ToolCallRequest, result: ToolOutcome, *, diff_shown: bool = False) -> RenderableType:
    """The header, then for a command the end of its output, for an edit its diff (unless approved on it)."""
    if result.summary == MALFORMED_SUMMARY:  # what went wrong in one line; the raw text went back to the model
        first = one_line(result.output.split(". You wrote:", 1)[0].removeprefix("error: "))
        what = f"{call.name} call" if call.name != MALFORMED_NAME else "tool call"
        return Text.assemble(("● ", "red"), (f"unreadable {what}", "bold"), (f"  {first[:200]}", "red"))
    style = "red" if result.is_error else "green"
    header = Text.assemble(("● ", style), (call_title(call), "bold"))
    note = result_note(call, result)
    if note:
        header.append(f"  {note}", style="red" if result.is_error else "dim")
    body: list[RenderableType] = []
    if result.is_error or call.name == "bash":
        lines = _output_lines(result)
        keep = ERROR_LINES_SHOWN if result.is_error else OUTPUT_LINES_SHOWN
        if len(lines) > keep:
            body.append(_indented([f"… +{len(lines) - keep} lines above"], "dim"))
            lines = lines[-keep:]
        if lines:
            body.append(_indented(lines, "red" if result.is_error else "dim"))
        elif result.is_error and not note:
            body.append(_indented(["failed"], "red"))
    if result.diff and not diff_shown:
        body.append(Padding(diff_renderable(result.diff), (0, 0, 0, 2), expand=False))
    return Group(header, *body)


def _indented(lines: list[str], style: str) -> Text:
    """Lines under a header, cut (not wrapped) at the screen edge, with no padding after them to copy."""
    return Text("\n".join(f"  {line}" for line in lines), style=style, no_wrap=True, overflow="ellipsis")


class CommandProgress:
    """A running command: spinner, elapsed seconds and its last lines, redrawn by a rich ``Live``."""

    def __init__(self, call: ToolCallRequest, clock: Any = time.monotonic) -> None:
        self.title = call_title(call, 100)
        self._clock = clock
        self._started = clock()
        self._spinner = Spinner("dots", style="dim")
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._tail = ""  # the last few KB of output, as text

    def feed(self, chunk: bytes) -> None:
        self._tail = (self._tail + self._decoder.decode(chunk))[-4096:]

    def lines(self) -> list[str]:
        # A progress bar rewrites its line with \r: only what it shows last counts.
        lines = [line.rsplit("\r", 1)[-1] for line in self._tail.split("\n")]
        shown = [one_line(line.expandtabs()) for line in lines if line.strip()]
        return shown[-LIVE_LINES_SHOWN:]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        elapsed = int(self._clock() - self._started)
        header = Text.assemble(" ", (self.title, "bold"), (f"  {elapsed}s", "dim"))
        header.truncate(options.max_width - 2, overflow="ellipsis")
        spinner = self._spinner.render(self._clock())
        yield Text.assemble(spinner if isinstance(spinner, Text) else Text(""), header)
        for line in self.lines():
            yield Text(f"  {line}", style="dim", no_wrap=True, overflow="ellipsis")
