"""`agent doctor --model M`: native, recovered and missing tool calls counted, with the scripted backend and a
fake Ollama daemon on 127.0.0.1 whose model writes some calls as text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentshell.cli.doctor import app
from tests.backends.ollama.conftest import fake_server, show_body


def run_doctor(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["--json", "--no-smoke", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.output)


def probe_row(report: dict[str, Any]) -> dict[str, str]:
    return next(c for c in report["checks"] if c["name"].startswith("tool calls "))


def scripted(tmp_path: Path, *responses: list[dict[str, Any]]) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(list(responses)))
    return f"scripted:{path}"


def call(name: str, **fields: Any) -> list[dict[str, Any]]:
    return [{"type": "tool_call", "id": "c", "name": name, "arguments": {"path": "x"}, **fields}]


def test_counts_native_recovered_and_missing_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = scripted(
        tmp_path,
        call("read_file"),
        call("list_dir", recovered=True),
        [{"type": "text", "text": "TODOs are comments that say TODO."}],
        [{"type": "malformed_tool_call", "id": "m", "raw": "{bash", "error": "bad JSON", "name": "bash"}],
        call("get_time"),
    )
    monkeypatch.setenv("AGENT_MODEL", model)
    code, report = run_doctor("--backend", "scripted", "--model", model, "--timeout", "10")
    row = probe_row(report)
    assert row["status"] == "warn" and code == 0
    assert row["detail"].startswith("5 requests: 2 native, 1 recovered from text, 2 without a call (1 malformed)")
    assert "larger or tool-trained model" in row["fix"]


def test_a_model_that_never_calls_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = scripted(tmp_path, [{"type": "text", "text": "I cannot do that."}])
    monkeypatch.setenv("AGENT_MODEL", model)
    code, report = run_doctor("--backend", "scripted", "--model", model, "--timeout", "10")
    assert probe_row(report)["status"] == "fail" and code == 1


def test_an_unknown_model_string_is_one_row(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENT_MODEL", scripted(tmp_path, [{"type": "text", "text": "ready"}]))
    code, report = run_doctor("--backend", "scripted", "--model", "scripted:/nonexistent/script.json")
    row = probe_row(report)
    assert row["status"] == "fail" and code == 1 and row["detail"]


def line(content: str = "", done: bool = False, **message: Any) -> dict[str, Any]:
    return {"model": "m", "message": {"role": "assistant", "content": content, **message}, "done": done}


def reply(*lines: dict[str, Any]) -> Any:
    return fake_server.Reply(lines=[*lines, line(done=True)])


def test_against_an_ollama_daemon_whose_model_writes_calls_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    native = {"function": {"name": "read_file", "arguments": {"path": "README.md"}}}
    with fake_server.fake_ollama() as daemon:
        daemon.script(
            "POST", "/api/show", fake_server.Reply(body=show_body(arch="qwen3", capabilities=("completion", "tools")))
        )
        daemon.script(
            "POST",
            "/api/chat",
            reply(line(tool_calls=[native])),
            reply(
                line("<tool_call>\n<function=list_dir>\n<parameter=path>\nsrc\n</parameter>\n"),
                line("</function>\n</tool_call>"),
            ),
            reply(line('{"name": "grep", "arguments": {"pattern": "TODO"}}')),
            reply(line("Run `pytest -q` yourself.")),
            reply(line('Call it like this:\n```\n<tool_call>{"name": "get_time"}</tool_call>\n```\n')),
        )
        monkeypatch.setenv("OLLAMA_HOST", daemon.url)
        monkeypatch.setenv("AGENT_MODEL", scripted(tmp_path, [{"type": "text", "text": "ready"}]))
        code, report = run_doctor("--backend", "scripted", "--model", "ollama:qwen3:8b", "--timeout", "10")
        bodies = daemon.bodies("/api/chat")
    row = probe_row(report)
    assert row["name"] == "tool calls ollama:qwen3:8b"
    assert row["detail"].startswith("5 requests: 1 native, 2 recovered from text, 2 without a call"), row
    assert row["status"] == "warn" and code == 0
    assert len(bodies) == 5 and all(len(b["tools"]) == 5 for b in bodies)
