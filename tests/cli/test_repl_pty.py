"""The real interactive shell in a pseudo-terminal: prompt, streamed answer, approval, /model, Ctrl-C, exit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from tests.cli.launch_support import (
    MARKER,
    call,
    process_gone,
    sigint_default,
    sleeping_pids,
    text,
    wait_for,
    write_script,
)

PROMPT = "›"


def spawn(tmp_path: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color", "NO_COLOR": "1", "COLUMNS": "100"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agentshell", "launch", *args],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 100),
        preexec_fn=sigint_default,
    )
    if os.environ.get("PTY_LOG"):  # PTY_LOG=file shows what the terminal received, to debug a failing expect
        child.logfile_read = open(os.environ["PTY_LOG"], "a")  # noqa: SIM115
    return child


def enter(child: pexpect.spawn, line: str) -> None:
    """Type a line and press Enter (a terminal sends CR; LF, Ctrl-J, inserts a new line instead)."""
    child.send(line + "\r")


@pytest.mark.slow
def test_interactive_session(tmp_path: Path) -> None:
    first = write_script(
        tmp_path,
        [
            [text("Hello "), {"type": "sleep", "seconds": 0.2}, text("from **the agent**.")],
            [call("bash", command="touch approved.txt")],
            [text("Created it.")],
        ],
        "first.json",
    )
    second = write_script(tmp_path, [[text("Second model here.")]], "second.json")
    child = spawn(tmp_path, "-m", first)
    try:
        child.expect("scripted")  # the banner names the backend
        child.expect(PROMPT)
        enter(child, "hi")
        child.expect("Hello")
        child.expect("from")
        child.expect("the agent")
        child.expect("scripted · .*first.json")  # the status line after the turn
        child.expect(PROMPT)

        enter(child, "make a file")
        child.expect("touch approved.txt")
        child.expect("commands need approval")
        child.expect(r"allow\? \[y\]es / \[n\]o / \[a\]lways")
        child.send("y")  # one key, no Enter
        child.expect("Created it.")
        child.expect(PROMPT)
        assert (tmp_path / "approved.txt").exists()

        enter(child, f"/model {second}")
        child.expect("now on scripted")
        child.expect(PROMPT)
        enter(child, "/model nowhere-backend:x")
        child.expect("error")
        child.expect(PROMPT)
        enter(child, "who are you?")
        child.expect("Second model here.")
        child.expect(PROMPT)

        enter(child, "/tools")
        child.expect("read_file")
        child.expect(PROMPT)
        enter(child, "/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    history = (Path(os.environ["XDG_DATA_HOME"]) / "agentshell" / "history").read_text()
    assert "make a file" in history and "/model" in history


@pytest.mark.slow
def test_ctrl_c_cancels_the_turn_and_ctrl_d_quits(tmp_path: Path) -> None:
    model = write_script(
        tmp_path,
        [[text("thinking hard"), {"type": "sleep", "seconds": 30}, text("never")], [text("still here")]],
    )
    child = spawn(tmp_path, "-m", model)
    try:
        child.expect(PROMPT)
        enter(child, "slow one")
        child.expect("thinking hard")
        child.sendintr()
        child.expect("interrupted")
        child.expect(PROMPT)
        enter(child, "again")
        child.expect("still here")
        child.expect(PROMPT)
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_json_output_on_a_terminal_without_a_prompt_is_a_usage_error(tmp_path: Path) -> None:
    child = spawn(tmp_path, "--output-format", "json")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2 and "is for scripts" in (child.before or "")


@pytest.mark.slow
def test_ctrl_c_during_a_command_kills_it_and_returns_to_the_prompt(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("bash", command=f"sleep {MARKER}")], [text("back again")]])
    child = spawn(tmp_path, "-m", model, "--permission-mode", "yolo")
    try:
        child.expect(PROMPT)
        enter(child, "wait")
        assert wait_for(sleeping_pids, 30), "the bash tool never started sleep"
        (sleeper,) = sleeping_pids()
        child.sendintr()
        child.expect("interrupted")
        child.expect(PROMPT)
        assert wait_for(lambda: process_gone(sleeper), 10), "sleep survived Ctrl-C"
        enter(child, "and now?")
        child.expect("back again")
        child.expect(PROMPT)
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
