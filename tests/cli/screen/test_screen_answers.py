"""What a person sees of answers: streamed Markdown, type-ahead, a resize, repeated requests, honest banners."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.launch_support import call, text
from tests.cli.screen.conftest import Script
from tests.cli.screen.terminal import Terminal, assert_golden, slowly

pytestmark = pytest.mark.slow  # each test is a real agent on a pty

MARKDOWN = (
    "# Plan\n\nsrc contains:\napp.py\nutil.py\n\n"
    "- read the **config**\n- then `main.py`\n\n"
    "```python\ndef f(x):\n    return x * 2\n```\n\n"
    "The diff:\n\n-x = 1\n+x = 2\n\nDone."
)


@pytest.mark.parametrize("columns", [80, 120])
def test_a_streamed_markdown_answer(tmp_path: Path, script: Script, columns: int) -> None:
    """Item 8: line breaks kept, a heading as written, a quoted diff as a diff; the answer shown once."""
    model = script([slowly(MARKDOWN)])
    with Terminal(tmp_path, "-m", model, columns=columns, rows=40) as term:
        term.wait_prompt()
        term.enter("make a plan")
        screen = term.wait_prompt()
        assert "src contains:\napp.py\nutil.py" in screen
        assert "\n# Plan\n" in screen and screen.count("Done.") == 1
        assert " -x = 1\n +x = 2" in screen and "• read the config" in screen
        assert_golden(f"markdown_{columns}", screen, tmp_path)


def test_type_ahead_during_a_stream_waits_in_the_input_line(tmp_path: Path, script: Script) -> None:
    """Item 5: typed text is neither echoed under the stream nor does the answer show twice."""
    answer = "Here is a long answer that streams slowly, word by word, while the user types ahead. " * 3
    model = script([slowly(answer + "\n\nThe end.", pause=0.03, piece=8), [text("answered the second")]])
    with Terminal(tmp_path, "-m", model, columns=80, rows=24) as term:
        term.wait_prompt()
        term.enter("first")
        term.wait("Here is")
        term.type("second question")
        screen = term.wait(lambda s: "The end." in s and s.splitlines()[-1] == "› second question")
        assert screen.count("Here is a long answer") == 3  # three sentences, each once
        assert "second question" not in screen.split("The end.")[0]  # nothing typed landed in the answer
        term.type("\r")
        screen = term.wait("answered the second")
        assert "› second question\nanswered the second" in screen


def test_a_resize_reflows_what_comes_next(tmp_path: Path, script: Script) -> None:
    long_line = "word " * 40
    model = script([[text(long_line)], [text(long_line)]])
    with Terminal(tmp_path, "-m", model, columns=120, rows=30) as term:
        term.wait_prompt()
        term.enter("wide")
        term.wait_prompt()
        term.resize(80, 30)
        term.pump(0.3)
        term.enter("narrow")
        screen = term.wait(lambda s: s.count("word word") >= 3 and s.splitlines()[-1] == "›")
        after = screen.split("› narrow", 1)[1]
        rows = [row for row in after.splitlines() if "word" in row]
        assert len(rows) == 3 and all(len(row) <= 80 for row in rows)  # 200 characters wrapped at 80
        assert term.child.isalive()


def test_asking_three_times_is_not_a_repeated_call(tmp_path: Path, script: Script) -> None:
    """Item 1: "run echo hi", "again please", "third time", /clear, once more: never "in a row"."""
    turns = [[[call("bash", f"c{i}", command="echo hi")], [text(f"said hi {i}")]] for i in range(4)]
    model = script([response for turn in turns for response in turn])
    with Terminal(tmp_path, "-m", model, "--allow", "bash(echo *)", columns=80, rows=30) as term:
        term.wait_prompt()
        for i, line in enumerate(["run echo hi", "again please", "third time"]):
            term.enter(line)
            term.wait(f"said hi {i}")
            term.wait_prompt()
        term.enter("/clear")
        term.wait("new conversation")
        term.enter("once more")
        screen = term.wait("said hi 3")
        assert "in a row" not in screen


def test_a_small_model_says_so_and_help_keeps_its_brackets(tmp_path: Path, script: Script) -> None:
    """Items 14 and 6."""
    model = script([[text("hi")]], context_length=512)
    with Terminal(tmp_path, "-m", model, columns=80, rows=30) as term:
        screen = term.wait_prompt()
        assert "is a small demonstration model (512-token context)" in " ".join(screen.split())
        term.enter("/help")
        screen = term.wait("quit (shows how to resume)")
        assert "/model [NAME]" in screen and "/rewind [N]" in screen
