"""`agent sessions list|show|rm` against real session files in the isolated data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from agentshell.cli.app import build_cli
from agentshell.protocol import Message, ToolCallRequest
from agentshell.session import SessionStore


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    monkeypatch.chdir(path)
    return path


def _make(workspace: Path, first: str) -> str:
    with SessionStore().create(workspace) as s:
        s.append(Message(role="user", content=first), backend="ollama", model="qwen3")
        call = ToolCallRequest(id="c1", name="bash", arguments={"command": "ls"})
        s.append(Message(role="assistant", content="", tool_calls=(call,)), backend="ollama", model="qwen3")
        s.append(Message(role="tool", content="a.py", tool_call_id="c1", name="bash"), backend="ollama", model="qwen3")
        s.append(Message(role="assistant", content="[bold]one file[/]"), backend="gguf", model="smol")
        return s.id


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_cli(), list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_list_shows_this_directory_and_all_with_flag(ws: Path, tmp_path: Path) -> None:
    mine = _make(ws, "fix the parser\nmore detail")
    other_ws = tmp_path / "other"
    other_ws.mkdir()
    other = _make(other_ws, "other project")
    code, out = invoke("sessions", "list")
    assert code == 0 and mine in out and "fix the parser" in out and "gguf:smol" in out and other not in out
    code, out = invoke("sessions", "list", "--all")
    assert code == 0 and mine in out and other in out and str(other_ws) in out
    code, out = invoke("sessions", "list", "--json")
    rows = json.loads(out)
    assert [(r["id"], r["messages"], r["title"], r["in_use"]) for r in rows] == [(mine, 4, "fix the parser", False)]


def test_list_marks_a_session_in_use(ws: Path) -> None:
    with SessionStore().create(ws) as live:
        live.append(Message(role="user", content="busy"), backend="b", model="m")
        code, out = invoke("sessions", "list")
        assert code == 0 and f"{live.id} (in use)" in out
        code, out = invoke("sessions", "rm", live.id)
        assert code == 1 and "in use by another running agent" in out
    assert invoke("sessions", "rm", live.id) == (0, f"removed {live.id}\n")


def test_show_prints_the_transcript_and_json(ws: Path) -> None:
    sid = _make(ws, "fix the parser")
    code, out = invoke("sessions", "show", sid[:-1])
    assert code == 0
    assert "fix the parser" in out and "→ bash" in out and '"command": "ls"' in out and "a.py" in out
    assert "[bold]one file[/]" in out  # model text is shown literally, never as markup
    code, out = invoke("sessions", "show", sid, "--json")
    data = json.loads(out)
    assert data["id"] == sid and [m["role"] for m in data["messages"]] == ["user", "assistant", "tool", "assistant"]


def test_unknown_or_ambiguous_id_is_one_line_exit_2(ws: Path) -> None:
    code, out = invoke("sessions", "show", "nope")
    assert code == 2 and out.startswith("agent: error: no session 'nope'") and "Traceback" not in out
    _make(ws, "a")
    _make(ws, "b")
    code, out = invoke("sessions", "rm", "2")
    assert code == 2 and "ambiguous" in out


def test_rm_removes(ws: Path) -> None:
    sid = _make(ws, "x")
    assert invoke("sessions", "rm", sid) == (0, f"removed {sid}\n")
    code, out = invoke("sessions", "list", "--json")
    assert json.loads(out) == []
    code, out = invoke("sessions", "list")
    assert code == 0 and "no sessions for this directory" in out


def test_list_at_80_columns_gives_the_title_the_room(ws: Path) -> None:
    session_id = _make(ws, "fix the parser so that tabs are handled in the lexer")
    result = CliRunner().invoke(build_cli(), ["sessions", "list"], env={"COLUMNS": "80"})
    (line,) = [line for line in result.output.splitlines() if session_id in line]
    assert len(line) <= 80 and "fix the parser so that tabs are" in line  # was cut to 12 characters
    result = CliRunner().invoke(build_cli(), ["sessions", "list", "--all"], env={"COLUMNS": "80"})
    assert all(len(line) <= 80 for line in result.output.splitlines())
    assert session_id in result.output and "fix the parser so" in result.output
