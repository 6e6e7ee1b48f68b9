"""`agent pull MODEL`: the /api/pull stream with a progress bar, through the real command group."""

from __future__ import annotations

from typing import Any

import pytest
from agentshell_ollama.cli_pull import show_progress
from agentshell_ollama.management import PullProgress
from agentshell_ollama_fake_server import Reply

from agentshell.cli.app import main
from agentshell.cli.host import AgentCommandHost


def agent(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the real ``agent`` entry point in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return code if isinstance(code, int) else 0 if code is None else 1, out, err


def test_pull_through_the_agent_command(fake: Any, wire: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fake.script("POST", "/api/pull", Reply(lines=wire.lines("pull-stream.ndjson")))
    code, out, err = agent(capsys, "pull", "ollama:llama3.2", "--host", fake.url)
    assert code == 0, out + err
    assert out.strip().endswith("pulled llama3.2")
    assert fake.bodies("/api/pull") == [{"model": "llama3.2", "insecure": False, "stream": True}]


def test_pull_of_an_unknown_model_is_one_line(fake: Any, capsys: pytest.CaptureFixture[str]) -> None:
    fake.script(
        "POST",
        "/api/pull",
        Reply(lines=[{"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}]),
    )
    code, _, err = agent(capsys, "pull", "no-such-model", "--host", fake.url)
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "agent: error: 'no-such-model' is not in Ollama's library (check the name at https://ollama.com/search)"
    )


def test_pull_without_a_daemon(closed_port: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = agent(capsys, "pull", "qwen3", "--host", f"127.0.0.1:{closed_port}")
    assert code == 1
    assert "Traceback" not in out + err
    assert err.strip() == (
        f"agent: error: cannot connect to Ollama at http://127.0.0.1:{closed_port} (connection refused) "
        "(is Ollama running? start it with `ollama serve`, or point OLLAMA_HOST / --host at it)"
    )


def test_pull_on_direct_cloud_is_refused(monkeypatch: Any, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "https://ollama.com")
    code, _, err = agent(capsys, "pull", "gpt-oss:120b")
    assert code == 1
    assert "models on ollama.com run there and need no pull" in err


def test_progress_bar_follows_each_layer(capsys: Any) -> None:
    parts = [
        PullProgress(status="pulling manifest"),
        PullProgress(status="pulling sha256:aaaa", digest="sha256:aaaabbbbccccdddd", total=1000, completed=250),
        PullProgress(status="pulling sha256:aaaa", digest="sha256:aaaabbbbccccdddd", total=1000, completed=1000),
        PullProgress(status="pulling sha256:eeee", digest="sha256:eeeeffff00001111", total=10),
        PullProgress(status="success"),
    ]
    with AgentCommandHost().progress() as display:
        show_progress(parts, display)
    err = capsys.readouterr().err
    assert "pulling aaaabbbbcccc" in err and "pulling eeeeffff0000" in err and "success" in err
    assert "1.0/1.0 kB" in err
