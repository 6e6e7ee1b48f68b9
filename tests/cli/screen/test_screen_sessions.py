"""What a person sees of sessions: the resume picker, where the conversation stopped, how to come back."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentshell.protocol import Message
from agentshell.session import SessionStore
from tests.cli.launch_support import text
from tests.cli.screen.conftest import Script
from tests.cli.screen.terminal import Terminal, assert_golden

pytestmark = pytest.mark.slow  # each test is a real agent on a pty


def _session(workspace: Path, model: str, *exchange: str) -> str:
    with SessionStore().create(workspace) as session:
        for index, content in enumerate(exchange):
            role = "user" if index % 2 == 0 else "assistant"
            session.append(Message(role=role, content=content), backend="scripted", model=model)
        return session.id


def test_resume_without_an_id_picks_with_one_key_on_the_sessions_model(tmp_path: Path, script: Script) -> None:
    """Items 12 and 2: a picker; the last exchange; the session's own model; Ctrl-D says how to come back."""
    held = script([[text("back on the held model")]], name="held")
    older = _session(tmp_path, "held.json", "fix the parser", "Done: the parser\nnow handles tabs.")
    _session(tmp_path, "other.json", "write the docs", "The docs are written.")
    with Terminal(tmp_path, "--resume", columns=80, rows=30) as term:
        screen = term.wait("resume which? [1-2] (Enter: 1, n: a new session)")
        assert screen.index("write the docs") < screen.index("fix the parser")  # newest first
        assert_golden("resume_picker_80", screen, tmp_path)
        term.type("2")
        screen = term.wait_prompt()
        assert f"resuming on scripted · {held.removeprefix('scripted:')}" in screen  # not the built-in default
        assert "› fix the parser\nDone: the parser\nnow handles tabs." in screen
        term.enter("go on")
        term.wait("back on the held model")
        term.wait_prompt()
        term.child.sendcontrol("d")
        screen = term.wait("resume this conversation with")
        assert f"resume this conversation with: agent launch --resume {older}" in screen


def test_clear_clears_the_screen_and_history_is_private(tmp_path: Path, script: Script) -> None:
    """Item 13: /clear starts on a clean screen; the prompt history file is owner-only like transcripts."""
    model = script([[text("first answer")], [text("second answer")]])
    with Terminal(tmp_path, "-m", model, columns=80, rows=24) as term:
        term.wait_prompt()
        term.enter("one")
        term.wait("first answer")
        term.wait_prompt()
        term.enter("/clear")
        screen = term.wait("new conversation")
        assert "first answer" not in screen and screen.splitlines()[0].startswith("new conversation")
        term.enter("two")
        term.wait("second answer")
    history = Path(os.environ["XDG_DATA_HOME"]) / "agentshell" / "history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
