"""Every command looks and fails alike: boxed help without placeholders on flags, one-line usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.launch_support import run_agent


@pytest.mark.parametrize("command", [["launch"], ["sessions", "list"], ["doctor"]])
def test_help_is_boxed_and_flags_have_no_placeholder(tmp_path: Path, command: list[str]) -> None:
    proc = run_agent(*command, "--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "╭─ Options" in proc.stdout and "<bool>" not in proc.stdout
    assert "--help" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["launch", "--bogus"], "agent: error: no such option"),  # click words it "'--bogus'" or ": --bogus"
        (["launch", "--permission-mode", "nope", "-p", "x"], "agent: error: invalid value for '--permission-mode'"),
        (["sessions", "show"], "agent: error: missing argument"),
        (["nosuchcommand"], "agent: error: no such command 'nosuchcommand'"),
    ],
)
def test_a_bad_flag_is_one_error_line_not_a_box(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run_agent(*args, cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()  # never hard-wrapped: a long value stays on the line to copy
    assert line.startswith(message) and "--help`)" in line
    assert "╭" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("flag", ["-p", "--prompt"])
def test_a_bare_prompt_flag_says_how_to_pipe_a_prompt(tmp_path: Path, flag: str) -> None:
    """`echo x | agent launch -p` is how other agents read a piped prompt; the error says what works here."""
    proc = run_agent("launch", flag, cwd=tmp_path)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line == (
        f"agent: error: option '{flag}' requires an argument: give the prompt after -p, "
        "or pipe it without -p (`echo PROMPT | agent launch`)"
    )
