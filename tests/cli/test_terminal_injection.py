"""Hole 5 of issue 15: escape sequences a model writes reach the person's terminal raw.

The attack text sets the clipboard (OSC 52), the window title (OSC 0 and 2), clears the screen
(``ESC [ 2 J``) and uses a C1 CSI (U+009B). On a terminal each must show as text (``^[]52;...``) and
never arrive as the sequence; into a pipe, ``-p`` text stays byte-exact.
"""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from rich.console import Console

from agentshell.cli.render import TerminalRenderer, last_exchange
from agentshell.protocol import Message, TextDelta, ThinkingDelta, ToolCallRequest
from agentshell.session import SessionStore
from agentshell.tools.base import ToolResult
from tests.cli.launch_support import agent_command, call, run_agent, sigint_default, text, write_script

ATTACK = "A\x1b]52;c;UFdORUQ=\x07B\x1b]0;PWNED-TITLE\x07C\x1b]2;PWNED-TWO\x1b\\D\x1b[2JE\x9b31mF"
OBEYED = ("\x1b]52", "\x1b]0;PWNED", "\x1b]2;PWNED", "\x1b[2J", "\x9b")


def _assert_harmless(screen: str) -> None:
    for sequence in OBEYED:
        assert sequence not in screen, f"{sequence!r} reached the terminal"
    assert "^[]52;c;UFdORUQ=" in screen  # shown, so the person sees something odd was written


def _read_pty(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_print_mode_on_a_terminal_shows_the_sequences(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text(ATTACK)]])
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        agent_command("launch", "-m", model, "-p", "go"),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(slave)
    screen = _read_pty(master)
    os.close(master)
    assert proc.wait(60) == 0
    _assert_harmless(screen)


def test_print_mode_into_a_pipe_is_byte_exact(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text(ATTACK)]])
    proc = run_agent("launch", "-m", model, "-p", "go", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ATTACK + "\n"


def test_stream_json_lines_survive_unicode_line_separators(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("one\u2028two\u2029three\x85four")]])
    proc = run_agent("launch", "-m", model, "-p", "go", "--output-format", "stream-json", cwd=tmp_path)
    assert "\u2028" not in proc.stdout and "\u2029" not in proc.stdout and "\x85" not in proc.stdout
    events = [json.loads(line) for line in proc.stdout.splitlines()]  # splitlines() breaks at U+2028 too
    assert [e["type"] for e in events] == ["init", "text", "result"]
    assert events[-1]["result"] == "one\u2028two\u2029three\x85four"


def test_the_renderer_shows_answers_thinking_spinners_and_panels_harmlessly() -> None:
    out, err = io.StringIO(), io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    err_console = Console(file=err, force_terminal=True, width=200, color_system=None)
    renderer = TerminalRenderer(console, err_console)
    renderer.on_event(ThinkingDelta(text=ATTACK))
    renderer.on_event(TextDelta(text=f"# title {ATTACK}\n\n- item {ATTACK}\n\n```\n{ATTACK}\n```\n"))
    request = ToolCallRequest(id="1", name=f"bash{ATTACK}", arguments={"command": f"echo {ATTACK}"})
    renderer.on_tool_start(request)
    renderer.on_tool_result(request, ToolResult("ok", summary="exit 0"))
    renderer.reset()
    _assert_harmless(out.getvalue())
    _assert_harmless(err.getvalue())


def test_a_resumed_conversation_shows_where_it_stopped_harmlessly() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    messages = [Message(role="user", content=f"question {ATTACK}"), Message(role="assistant", content=ATTACK)]
    console.print(last_exchange(messages))
    _assert_harmless(out.getvalue())


def test_sessions_show_prints_transcripts_harmlessly(tmp_path: Path) -> None:
    with SessionStore().create(tmp_path) as session:
        session.append(Message(role="user", content=f"question {ATTACK}"), backend="b", model="m")
        call_request = ToolCallRequest(id="1", name=f"bash{ATTACK}", arguments={"command": ATTACK})
        answer = Message(role="assistant", content=ATTACK, thinking=ATTACK, tool_calls=(call_request,))
        session.append(answer, backend="b", model="m")
        session.append(Message(role="tool", content=ATTACK, tool_call_id="1", name="bash"), backend="b", model="m")
        session_id = session.id
    shown = run_agent("sessions", "show", session_id, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    _assert_harmless(shown.stdout)
    listed = run_agent("sessions", "list", cwd=tmp_path)
    assert listed.returncode == 0 and "\x1b" not in listed.stdout and "\x9b" not in listed.stdout


@pytest.mark.slow
def test_the_repl_shows_the_answer_and_the_tool_line_harmlessly(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text(ATTACK), call("bash", command=f"echo '{ATTACK}'")], [text(f"end {ATTACK}")]])
    screen = io.StringIO()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agentshell", "launch", "-m", model, "--permission-mode", "yolo"],
        cwd=str(tmp_path),
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color", "NO_COLOR": "1"},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
        preexec_fn=sigint_default,
    )
    child.logfile_read = screen
    try:
        child.expect("›")
        child.send("go\r")
        child.expect("end ")
        child.expect("›")
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    _assert_harmless(screen.getvalue())
