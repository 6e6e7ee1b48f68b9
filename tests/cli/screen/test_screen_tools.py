"""What a person sees of tools: a long failing command, a running one, approvals, an edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.launch_support import call, text
from tests.cli.screen.conftest import Script
from tests.cli.screen.terminal import Terminal, assert_golden

pytestmark = pytest.mark.slow  # each test is a real agent on a pty

FAILING = "for i in $(seq 1 30); do echo line $i; done; exit 1"


@pytest.mark.parametrize("columns", [80, 120])
def test_a_long_failing_command_shows_its_end(tmp_path: Path, script: Script, columns: int) -> None:
    """Item 4: the tail, the exit code and what was cut, under a header that reads like the command."""
    model = script([[call("bash", command=FAILING)], [text("It failed at the end.")]])
    with Terminal(tmp_path, "-m", model, "--allow", f"bash({FAILING})", columns=columns, rows=30) as term:
        term.wait_prompt()
        term.enter("run it")
        screen = term.wait("It failed at the end.")
        assert f"● $ {FAILING}  exit 1 · 30 lines" in screen
        assert "  … +20 lines above\n  line 21\n" in screen and "  line 30\n" in screen
        assert "line 1\n" not in screen and "[exit code 1]" not in screen
        if columns == 80:
            assert_golden("failing_command_80", term.wait_prompt(), tmp_path)


def test_a_running_command_shows_its_last_lines_and_the_time(tmp_path: Path, script: Script) -> None:
    """Item 4: while a command runs, its last lines and the elapsed seconds, as Claude Code and Codex do;
    also after its approval question (which the live view gives way to)."""
    slow = "for i in 1 2 3 4 5 6 7 8; do echo step $i; sleep 0.4; done"
    model = script([[call("bash", command=slow)], [text("finished")]])
    with Terminal(tmp_path, "-m", model, columns=80, rows=30) as term:
        term.wait_prompt()
        term.enter("go")
        term.wait("allow?")
        term.type("y")
        screen = term.wait("step 3")
        live = [row for row in screen.splitlines() if "$ for i in" in row]
        assert live and live[-1].rstrip().endswith("s")  # "⠋ $ for i in …  1s"
        assert "step 1" in screen and "step 3" in screen
        screen = term.wait("finished")
        assert "● $ for i in 1 2 3 4 5 6 7 8" in screen and "exit 0 · 8 lines" in screen


def test_an_approval_shows_the_command_once_and_takes_one_key(tmp_path: Path, script: Script) -> None:
    """Items 11 and 9: one key, no Enter; the command once; then after "n" the turn stops and asks."""
    model = script(
        [
            [call("bash", "1", command="touch approved.txt")],
            [text("Created it.")],
            [call("bash", "2", command="rm -rf build")],
            [text("never said")],
        ]
    )
    with Terminal(tmp_path, "-m", model, columns=80, rows=30) as term:
        term.wait_prompt()
        term.enter("make a file")
        screen = term.wait("allow? [y]es / [n]o / [a]lways")
        assert screen.count("touch approved.txt") == 1  # the command once, not as summary and detail
        assert "│ $ touch approved.txt" in screen
        assert_golden("approval_80", screen, tmp_path)
        term.type("y")  # no Enter
        screen = term.wait("Created it.")
        assert "allow? [y]es / [n]o / [a]lways yes" in screen and (tmp_path / "approved.txt").exists()
        term.wait_prompt()
        term.enter("clean up")
        term.wait("rm -rf build")
        term.type("n")
        screen = term.wait("what should the agent do instead?")
        assert "never said" not in screen
        assert term.wait_prompt().splitlines()[-1] == "›"


def test_an_edit_reads_like_one_and_its_diff_shows_once(tmp_path: Path, script: Script) -> None:
    """Item 9: ``edit notes.txt  (+1 −1)``, not raw JSON; the approved diff is not repeated in the result."""
    (tmp_path / "notes.txt").write_text("alpha\nbeta\n", encoding="utf-8")
    edit = call("edit_file", path="notes.txt", old_string="beta", new_string="gamma")
    model = script([[edit], [text("Edited.")]])
    with Terminal(tmp_path, "-m", model, columns=80, rows=30) as term:
        term.wait_prompt()
        term.enter("edit it")
        term.wait("allow?")
        term.type("y")
        screen = term.wait("Edited.")
        assert "● edit notes.txt  (+1 −1)" in screen
        assert screen.count("+gamma") == 1 and "old_string" not in screen
