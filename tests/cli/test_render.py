"""The terminal renderer: streamed Markdown matches a whole render, panels, thinking, status line."""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console

from agentshell.cli.answer_markdown import AnswerMarkdown, fence_diffs
from agentshell.cli.calltitle import call_title
from agentshell.cli.render import MarkdownStream, TerminalRenderer, status_line
from agentshell.cli.toolview import CommandProgress, tool_view
from agentshell.loop.outcomes import TurnStatus
from agentshell.permissions.gate import ApprovalRequest
from agentshell.protocol import Done, Notice, TextDelta, ThinkingDelta, ToolCall, ToolCallRequest, Usage
from agentshell.tools.base import ToolResult

DOC = """# Plan

First, read the **config** and `main.py`.
It spans two lines.

- one
- two with `code`

```python
def f(x):

    return x * 2
```
Then a paragraph right after the fence.

1. first
2. second

> quoted

~~~
tilde fence
~~~
"""


def console(width: int = 60, terminal: bool = False) -> Console:
    return Console(file=io.StringIO(), width=width, height=20, force_terminal=terminal, color_system=None)


def whole(doc: str) -> str:
    c = console()
    c.print(AnswerMarkdown(doc))
    return c.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", range(5))
def test_streamed_blocks_look_like_the_whole_document(seed: int) -> None:
    rng = random.Random(seed)
    c = console()
    stream = MarkdownStream(c)
    i = 0
    while i < len(DOC):
        n = rng.randint(1, 12)
        stream.feed(DOC[i : i + n])
        i += n
    stream.finish()
    assert c.file.getvalue() == whole(DOC)  # type: ignore[attr-defined]


def test_blocks_are_printed_once_as_soon_as_they_end() -> None:
    c = console()
    stream = MarkdownStream(c)
    stream.feed("First paragraph.\n\nSecond ")
    assert "First paragraph." in c.file.getvalue()  # type: ignore[attr-defined]
    assert "Second" not in c.file.getvalue()  # type: ignore[attr-defined]
    stream.feed("paragraph.")
    stream.finish()
    out = c.file.getvalue()  # type: ignore[attr-defined]
    assert out.count("First paragraph.") == 1 and out.count("Second paragraph.") == 1


def test_live_preview_on_a_terminal_is_cleared_and_replaced_by_the_block() -> None:
    c = console(terminal=True)
    stream = MarkdownStream(c, live_interval=0)
    for word in ["a", "code", "block", "that", "is", "still", "open"]:
        stream.feed(word + " ")
    stream.feed("\n```\nx = 1\n")
    stream.finish()
    out = c.file.getvalue()  # type: ignore[attr-defined]
    assert "x = 1" in out and "still open" in out


def test_renderer_shows_thinking_short_and_dim_then_the_answer_and_a_panel() -> None:
    c = console(width=80)
    renderer = TerminalRenderer(c)
    renderer.on_event(ThinkingDelta(text="long thought " * 100))
    renderer.on_event(TextDelta(text="Let me edit."))
    call = ToolCallRequest(id="1", name="edit_file", arguments={"path": "a.py", "old": "x", "new": "y"})
    renderer.on_event(ToolCall(id="1", name="edit_file", arguments=dict(call.arguments)))
    renderer.on_tool_start(call)
    diff = "--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+y = 1\n"
    renderer.on_tool_result(call, ToolResult(output="edited", summary="1 line changed", diff=diff))
    renderer.on_event(Done())
    renderer.on_turn_end(TurnStatus("ollama", "qwen3", Usage(prompt_tokens=1000, completion_tokens=50), 0.1))
    assert "ollama · qwen3" not in c.file.getvalue()  # type: ignore[attr-defined]  # one status line per answer
    renderer.on_event(TextDelta(text="Done."))
    renderer.on_event(Done())
    renderer.on_turn_end(TurnStatus("ollama", "qwen3", Usage(prompt_tokens=1234, completion_tokens=6), 0.12))
    out = c.file.getvalue()  # type: ignore[attr-defined]
    assert 10 < out.count("long thought") < 25 and "…" in out  # 1,300 characters of thinking shown as ~240
    assert out.index("✻") < out.index("Let me edit.") < out.index("● edit a.py  (+1 −1)")
    assert "-x = 1" in out and "+y = 1" in out
    assert "ollama · qwen3 · 1,234 in / 56 out · 12% of context" in out


def render(renderable: object, width: int = 80) -> str:
    c = console(width=width)
    c.print(renderable)
    return c.file.getvalue()  # type: ignore[attr-defined]


def test_a_failing_command_shows_its_end_the_exit_code_and_what_was_cut() -> None:
    call = ToolCallRequest(id="1", name="bash", arguments={"command": "make"})
    output = "".join(f"line {i}\n" for i in range(30)) + "[exit code 1]"
    out = render(tool_view(call, ToolResult(output=output, is_error=True, summary="exit 1, 30 lines")))
    lines = out.splitlines()
    assert lines[0] == "● $ make  exit 1 · 30 lines"
    assert lines[1] == "  … +20 lines above"
    assert lines[2:] == [f"  line {i}" for i in range(20, 30)]
    assert "line 0\n" not in out and "[exit code 1]" not in out


def test_a_command_that_worked_shows_its_last_lines() -> None:
    call = ToolCallRequest(id="1", name="bash", arguments={"command": "echo hi"})
    out = render(tool_view(call, ToolResult(output="hi\n[exit code 0]", summary="exit 0, 1 line")))
    assert out == "● $ echo hi  exit 0 · 1 line\n  hi\n"


@pytest.mark.parametrize(
    ("name", "arguments", "title"),
    [
        ("edit_file", {"path": "src/app.py", "old_string": "a\n    b", "new_string": "c"}, "edit src/app.py"),
        ("grep", {"pattern": "def ", "path": "."}, 'grep "def " in .'),
        ("grep", {"pattern": "TODO", "include": "*.py"}, 'grep "TODO" in . (*.py)'),
        ("glob", {"pattern": "**/*.md"}, 'glob "**/*.md" in .'),
        ("read_file", {"path": "a.py", "offset": 10, "limit": 5}, "read a.py from line 10 (5 lines)"),
        ("write_file", {"path": "p.txt", "content": "x" * 1000}, "write p.txt"),
        ("list_dir", {"path": "src", "depth": 2}, "list src"),
        ("mcp__git__log", {"n": 3, "ref": "main"}, 'mcp__git__log n=3, ref="main"'),
        ("bash", {"command": "echo \x1b[2Jhi\n  there"}, "$ echo ^[[2Jhi there"),
    ],
)
def test_tool_headers_read_like_what_was_done(name: str, arguments: dict[str, object], title: str) -> None:
    assert call_title(ToolCallRequest(id="1", name=name, arguments=arguments)) == title


def test_an_edit_says_what_changed_and_shows_its_diff_once() -> None:
    call = ToolCallRequest(
        id="1", name="edit_file", arguments={"path": "src/app.py", "old_string": "", "new_string": "x"}
    )
    diff = "--- a/src/app.py\n+++ b/src/app.py\n@@ -1 +1,2 @@\n x = 1\n+y = 2\n"
    result = ToolResult(output="edited", summary="+1 -0 lines", diff=diff)
    out = render(tool_view(call, result))
    assert out.splitlines()[0] == "● edit src/app.py  (+1 −0)" and "+y = 2" in out
    assert render(tool_view(call, result, diff_shown=True)) == "● edit src/app.py  (+1 −0)\n"


def test_a_running_command_shows_its_last_lines_and_the_time() -> None:
    now = [100.0]
    progress = CommandProgress(ToolCallRequest(id="1", name="bash", arguments={"command": "pytest"}), lambda: now[0])
    for i in range(8):
        progress.feed(f"test {i} ok\n".encode())
    progress.feed(b"50%\r75%\r100% \xe2\x9c")  # a progress bar, and a character split across two reads
    progress.feed(b"\x93")
    now[0] += 12.4
    out = render(progress)
    lines = out.splitlines()
    assert "$ pytest  12s" in lines[0]
    assert [line.strip() for line in lines[1:]] == ["test 4 ok", "test 5 ok", "test 6 ok", "test 7 ok", "100% ✓"]


def test_notices_and_approval() -> None:
    c = console(width=80)
    renderer = TerminalRenderer(c)
    renderer.on_event(Notice(level="warning", text="model is large"))
    renderer.on_event(Notice(level="loading", text="loading model"))  # not a terminal: no spinner, no error
    renderer.on_event(TextDelta(text="ok"))
    renderer.show_approval(
        ApprovalRequest(
            tool="bash",
            kind="execute",
            summary="bash: rm -rf build",
            detail="rm -rf build",
            reason="commands need approval",
        )
    )
    out = c.file.getvalue()  # type: ignore[attr-defined]
    assert "warning: model is large" in out and "rm -rf build" in out and "commands need approval" in out


def test_argument_and_status_formatting() -> None:
    assert len(call_title(ToolCallRequest(id="2", name="t", arguments={"q": "y" * 500}))) < 80
    assert len(call_title(ToolCallRequest(id="2", name="bash", arguments={"command": "y" * 500}))) == 160
    status = TurnStatus("builtin", "m", Usage(prompt_tokens=5, completion_tokens=1), None)
    assert status_line(status) == "builtin · m · 5 in / 1 out · context size unknown"


def streamed(text: str, width: int = 60) -> str:
    c = console(width=width)
    stream = MarkdownStream(c)
    for i in range(0, len(text), 3):
        stream.feed(text[i : i + 3])
    stream.finish()
    return "\n".join(line.rstrip() for line in c.file.getvalue().split("\n"))  # type: ignore[attr-defined]


def test_single_newlines_are_kept() -> None:
    assert streamed("src contains:\napp.py\nutil.py") == "src contains:\napp.py\nutil.py\n"


def test_a_quoted_heading_stays_as_written_on_the_left() -> None:
    out = streamed("The README starts with:\n\n# Title\n\nand then text.")
    assert "\n# Title\n" in out


def test_a_quoted_diff_is_a_diff_not_a_list() -> None:
    answer = "I changed:\n\n-x = 1\n+x = 2\n context\n\nand a list:\n\n- one\n- two"
    out = streamed(answer)
    assert " -x = 1\n +x = 2\n  context" in out  # a code block, as a fenced diff is
    assert "• one" in out  # a real list is still a list
    assert fence_diffs("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b").startswith("```diff\n--- a/f")
    assert fence_diffs("```\n-a\n+b\n```") == "```\n-a\n+b\n```"
