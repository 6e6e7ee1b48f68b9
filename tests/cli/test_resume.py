"""Coming back to a conversation: on the model it was held on, in its own directory, picked from a list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentshell.protocol import Message
from agentshell.session import SessionStore
from tests.cli.launch_support import run_agent, text, write_script
from tests.cli.test_repl_commands import run_shell


def _session(workspace: Path, backend: str, model: str, *exchange: str) -> str:
    with SessionStore().create(workspace) as session:
        for index, content in enumerate(exchange):
            role = "user" if index % 2 == 0 else "assistant"
            session.append(Message(role=role, content=content), backend=backend, model=model)
        return session.id


def test_continue_goes_on_with_the_sessions_model_and_says_so(tmp_path: Path) -> None:
    held = write_script(tmp_path, [[text("from the held model")]], "held.json")
    first = run_agent("launch", "-m", held, "-p", "one", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run_agent("launch", "--continue", "-p", "two", cwd=tmp_path)  # no --model: not the built-in default
    assert again.returncode == 0, again.stderr
    assert again.stdout == "from the held model\n"
    assert f"resuming on scripted · {held.removeprefix('scripted:')}" in again.stderr


def test_model_flag_wins_over_the_sessions_model(tmp_path: Path) -> None:
    held = write_script(tmp_path, [[text("held")]], "held.json")
    other = write_script(tmp_path, [[text("the other one")]], "other.json")
    _session(tmp_path, "scripted", held.removeprefix("scripted:"), "one", "held")
    done = run_agent("launch", "-c", "-m", other, "-p", "two", "--output-format", "json", cwd=tmp_path)
    result = json.loads(done.stdout)
    assert result["result"] == "the other one" and result["model"] == other.removeprefix("scripted:")
    assert "resuming on" not in done.stderr


def test_a_session_on_a_backend_that_is_gone_falls_back_with_a_warning(tmp_path: Path) -> None:
    default = write_script(tmp_path, [[text("default model")]], "default.json")
    config = tmp_path / "config.toml"
    config.write_text(f'model = "{default}"\n', encoding="utf-8")
    _session(tmp_path, "nosuchbackend", "m", "one", "two")
    done = subprocess.run(
        [sys.executable, "-m", "agentshell", "launch", "-c", "-p", "three"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "AGENT_CONFIG": str(config)},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "default model\n"
    assert "was on nosuchbackend · m, which is not installed; going on with scripted" in done.stderr


def test_a_session_of_another_directory_is_refused_with_the_way_there(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    here = tmp_path / "here"
    elsewhere.mkdir()
    here.mkdir()
    session_id = _session(elsewhere, "scripted", "x", "one", "two")
    model = write_script(tmp_path, [[text("unused")]])
    done = run_agent("launch", "-m", model, "--resume", session_id[:15], "-p", "go", cwd=here)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"agent: error: session {session_id} belongs to {elsewhere.resolve()}, not this directory; "
        f"resume it there: cd {elsewhere.resolve()} && agent launch --resume {session_id}"
    )
    messages = SessionStore().read(session_id)[1]
    assert len(messages) == 2  # nothing was added to it


def test_resume_without_an_id_needs_a_terminal_in_a_script(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("unused")]])
    done = run_agent("launch", "-m", model, "--resume", "-p", "go", cwd=tmp_path)
    assert done.returncode == 2
    assert "--resume without an id needs a terminal" in done.stderr


def test_resume_picker_takes_one_key_and_shows_where_it_stopped(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("picked up again")]])
    older = _session(tmp_path, "scripted", "x", "fix the [bold]parser[/]", "Done: the parser\nnow **handles** tabs.")
    _session(tmp_path, "scripted", "x", "newest request", "newest answer")
    shell, out, code = run_shell(tmp_path, model, "2go on\r", resume="")
    assert code == 0
    assert "fix the [bold]parser[/]" in out and "newest request" in out  # titles are not markup
    assert shell.parts is not None and shell.parts.session.id == older
    banner_at = out.index("session " + older)
    assert out.index("› fix the [bold]parser[/]", banner_at) < out.index("now handles tabs.", banner_at)
    assert "picked up again" in out
    assert out.rstrip().endswith(f"resume this conversation with: agent launch --resume {older}")


@pytest.mark.parametrize(("keys", "expected"), [("\r", 0), ("n", None)])
def test_resume_picker_enter_takes_the_newest_and_n_starts_afresh(
    tmp_path: Path, keys: str, expected: int | None
) -> None:
    model = write_script(tmp_path, [[text("hi")]])
    ids = [_session(tmp_path, "scripted", "x", f"request {i}", f"answer {i}") for i in range(2)]
    shell, out, _ = run_shell(tmp_path, model, keys, resume="")
    assert shell.parts is not None
    if expected is None:
        assert shell.parts.session.id not in ids and "starting a new one" in out
    else:
        assert shell.parts.session.id == ids[-1 - expected]


def test_resume_on_a_cloud_model_of_a_fake_ollama(tmp_path: Path) -> None:
    """A session held on a cloud model comes back on it, not on the 0.9M built-in default."""
    from tests.backends.ollama import fake_server

    def reply(content: str) -> Any:
        end = {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}
        return fake_server.Reply(lines=[{"model": "m", "message": {"role": "assistant", "content": content}}, end])

    show = {"model_info": {"general.architecture": "qwen", "qwen.context_length": 32768}, "capabilities": ["tools"]}
    cloud = "qwen3.5:397b-cloud"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT_", "OLLAMA_"))}
    with fake_server.fake_ollama() as server:
        server.script("POST", "/api/show", fake_server.Reply(body=show), fake_server.Reply(body=show))
        server.script("POST", "/api/chat", reply("first answer"), reply("second answer"))
        for args in (["-m", cloud, "-p", "one"], ["--continue", "-p", "two"]):
            done = subprocess.run(
                [sys.executable, "-m", "agentshell", "launch", "--host", server.url, *args],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env={**env, "OLLAMA_API_KEY": "test-key"},
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
        bodies = server.bodies("/api/chat")
    assert done.stdout == "second answer\n"
    assert [b["model"] for b in bodies] == [cloud, cloud]
    assert f"resuming on ollama · {cloud}" in done.stderr
    assert [m["content"] for m in bodies[1]["messages"] if m["role"] != "system"] == ["one", "first answer", "two"]
