"""`agent doctor` through the real CLI, the scripted backend and a tiny OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentshell.cli.doctor import app


def run_doctor(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def checks_of(output: str) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(output)["checks"]}


def script(tmp_path: Path, *responses: list[dict[str, Any]]) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(list(responses)))
    return f"scripted:{path}"


def test_healthy_default_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AGENT_MODEL",
        script(
            tmp_path,
            [{"type": "text", "text": "ready"}],
            [{"type": "tool_call", "id": "1", "name": "get_time", "arguments": {"timezone": "UTC"}}],
        ),
    )
    code, out = run_doctor("--json", "--backend", "scripted", "--timeout", "10")
    assert code == 0, out
    checks = checks_of(out)
    assert json.loads(out)["ok"] is True
    assert checks["python"]["status"] == "ok" and checks["config"]["status"] == "ok"
    assert checks["backend scripted"]["status"] == "ok"
    assert checks["default model"]["status"] == "ok"
    chat = next(c for n, c in checks.items() if n.startswith("chat scripted:"))
    tool = next(c for n, c in checks.items() if n.startswith("tool call scripted:"))
    assert chat["status"] == "ok" and "'ready'" in chat["detail"]
    assert tool["status"] == "ok" and "get_time" in tool["detail"]


def test_default_model_that_cannot_run_fails_with_a_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AGENT_MODEL",
        script(
            tmp_path,
            [
                {
                    "type": "raise",
                    "error": "BackendUnavailable",
                    "message": "server is down",
                    "hint": "start it with `x`",
                }
            ],
        ),
    )
    monkeypatch.setenv("COLUMNS", "250")  # one row per check, so the words are not wrapped apart
    code, out = run_doctor("--backend", "scripted")
    assert code == 1
    assert "✗ fail" in out and "server is down" in out and "start it with" in out
    assert "cannot run" in out


def test_tool_call_not_made_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AGENT_MODEL", script(tmp_path, [{"type": "text", "text": "hi"}], [{"type": "text", "text": "It is noon."}])
    )
    code, out = run_doctor("--json", "-b", "scripted")
    tool = next(c for n, c in checks_of(out).items() if n.startswith("tool call"))
    assert code == 0 and tool["status"] == "warn" and tool["fix"]


def test_a_hung_backend_hits_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slow = [{"type": "sleep", "seconds": 3}, {"type": "text", "text": "x"}]
    monkeypatch.setenv("AGENT_MODEL", script(tmp_path, slow))
    code, out = run_doctor("--json", "-b", "scripted", "--timeout", "0.5")
    chat = next(c for n, c in checks_of(out).items() if n.startswith("chat"))
    assert code == 1 and chat["status"] == "fail" and "no answer within 0.5 s" in chat["detail"]


def test_unreadable_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("model = [unclosed\n")
    monkeypatch.setenv("AGENT_CONFIG", str(bad))
    code, out = run_doctor("--json")
    checks = checks_of(out)
    assert code == 1 and checks["config"]["status"] == "fail" and str(bad) in checks["config"]["fix"]


# --------------------------------------------------------------------------- a real (tiny) OpenAI-compatible server


class FakeOpenAI(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._send(200, "application/json", json.dumps({"data": [{"id": "tiny", "max_model_len": 4096}]}).encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("tools"):
            delta: dict[str, Any] = {
                "tool_calls": [
                    {"index": 0, "id": "c1", "function": {"name": "get_time", "arguments": '{"timezone": "UTC"}'}}
                ]
            }
        else:
            delta = {"content": "ready"}
        chunks = [
            {"choices": [{"index": 0, "delta": delta}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        ]
        payload = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        self._send(200, "text/event-stream", payload.encode())

    def _send(self, status: int, ctype: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_endpoints_and_the_openai_backend(fake_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    config = tmp_path / "config.toml"
    config.write_text(
        f'model = "fake:tiny"\n[endpoints.fake]\nbase_url = "{fake_server}"\n'
        f'[endpoints.down]\nbase_url = "http://127.0.0.1:{dead}/v1"\n'
    )
    monkeypatch.setenv("AGENT_CONFIG", str(config))
    code, out = run_doctor("--json", "-b", "openai", "--timeout", "10")
    checks = checks_of(out)
    assert code == 0, out
    assert checks["endpoint fake"]["status"] == "ok" and "1 model" in checks["endpoint fake"]["detail"]
    assert checks["endpoint down"]["status"] == "fail" and "unreachable" in checks["endpoint down"]["detail"]
    assert checks["backend openai"]["status"] == "ok"
    assert checks["default model"]["status"] == "ok"
    assert checks["chat openai:fake:tiny"]["status"] == "ok"
    assert checks["tool call openai:fake:tiny"]["status"] == "ok"


def test_unknown_backend_and_missing_key_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[endpoints.hosted]\nbase_url = "https://api.example.invalid/v1"\napi_key_env = "NO_SUCH_KEY"\n')
    monkeypatch.setenv("AGENT_CONFIG", str(config))
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    turns = ([{"type": "text", "text": "ok"}], [{"type": "text", "text": "x"}])
    monkeypatch.setenv("AGENT_MODEL", script(tmp_path, *turns))
    code, out = run_doctor("--json", "-b", "nonesuch", "-b", "scripted")
    checks = checks_of(out)
    assert checks["backend nonesuch"]["status"] == "fail" and checks["backend nonesuch"]["detail"] == "not installed"
    assert checks["endpoint hosted"]["status"] == "warn" and "export NO_SUCH_KEY=" in checks["endpoint hosted"]["fix"]
    assert code == 0  # neither concerns the default model


def test_table_at_80_columns_keeps_fixes_whole() -> None:
    """The fix column was 13 characters wide (`OPENAI_BASE_…`): now long words fold, nothing is cut."""
    import io

    from rich.console import Console

    from agentshell.cli import doctor

    checks = [
        doctor.Check("backend openai", "warn", "no server configured", "set OPENAI_BASE_URL (or --base-url)"),
        doctor.Check("config", "ok", "/a/very/long/path/to/the/agentshell/config.toml (not created)", ""),
    ]
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("rich.console.Console", lambda **kw: Console(file=out, width=80, color_system=None))
        doctor.render(checks, True, "builtin")
    text = out.getvalue()
    assert "OPENAI_BASE_URL" in text and "…" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
