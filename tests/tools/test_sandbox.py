"""The OS sandbox around bash, run for real with bubblewrap (skipped, saying so, where bwrap cannot run)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from agentshell.permissions.gate import PermissionGate
from agentshell.tools import ToolContext, ToolResult, ToolRunner, default_tools
from agentshell.tools.netproxy import host_allowed
from agentshell.tools.sandbox import SandboxPolicy, open_sandbox, probe, seatbelt_profile

needs_bwrap = pytest.mark.skipif(
    not probe().available, reason=f"needs a working bubblewrap (apt-get install bubblewrap): {probe().detail}"
)
AGENT_SECRET = "agent-only-value-5c1d9e"

Run = Callable[..., ToolResult]


@contextmanager
def _runner(ws: Path, policy: SandboxPolicy | None = None) -> Iterator[Run]:
    sandbox = open_sandbox(policy or SandboxPolicy(ws))
    runner = ToolRunner(
        default_tools(), ToolContext(ws, bash_timeout=10.0, sandbox=sandbox), PermissionGate("yolo", ws)
    )
    try:
        yield lambda command: runner.execute("bash", {"command": command})
    finally:
        sandbox.close()


@pytest.fixture
def boxed(ws: Path) -> Iterator[Run]:
    with _runner(ws) as run:
        yield run


@needs_bwrap
def test_the_workspace_is_writable(ws: Path, boxed: Run) -> None:
    result = boxed("echo made > made.txt && mkdir -p sub && echo deep > sub/f && cat made.txt")
    assert result.output.startswith("made\n") and not result.is_error
    assert (ws / "made.txt").read_text() == "made\n" and (ws / "sub" / "f").is_file()


@needs_bwrap
def test_writes_outside_the_workspace_fail(ws: Path, tmp_path: Path, boxed: Run) -> None:
    outside = tmp_path / "outside.txt"
    home = Path.home() / f".agentshell-sandbox-probe-{os.getpid()}"
    result = boxed(f"echo x > {home}; echo x > /etc/agentshell-probe; echo x > {outside}; ls {outside}")
    assert result.output.count("Read-only file system") == 2, result.output
    assert not home.exists() and not Path("/etc/agentshell-probe").exists()
    assert not outside.exists()  # /tmp is a private scratch space: what is written there vanishes with the command


@needs_bwrap
def test_a_tcp_connect_to_a_listener_on_localhost_fails(boxed: Run) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        result = boxed(f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED || echo REFUSED")
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    assert "REFUSED" in result.output and "CONNECTED" not in result.output


@needs_bwrap
def test_the_agent_process_and_its_environment_are_invisible(
    ws: Path, boxed: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", AGENT_SECRET)
    out = boxed("tr '\\0' '\\n' < /proc/$PPID/environ; echo; ls /proc | grep -c '^[0-9]'").output
    assert AGENT_SECRET not in out and "OPENAI_API_KEY" not in out and "REDACTED" not in out
    assert "AGENTSHELL_COMMAND_ID=" in out  # $PPID is the sandbox's init, started with the command's environment
    count = int(out.split("\n")[-2])
    assert count < 10, out  # bwrap's init, bash and ls: nothing of the host's process table


@needs_bwrap
def test_hidden_paths_look_empty_and_writable_extras_are_writable(ws: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "creds"
    secrets.mkdir()
    (secrets / "id_rsa").write_text("PRIVATE")
    token = tmp_path / "token.txt"
    token.write_text("TOKEN")
    cache = tmp_path / "cache"
    cache.mkdir()
    policy = SandboxPolicy(ws, writable=(cache,), hidden=(secrets, token))
    with _runner(ws, policy) as run:
        out = run(f"ls -A {secrets}; cat {token}; echo END; echo c > {cache}/c").output
    assert "id_rsa" not in out and "TOKEN" not in out and "END" in out
    assert (cache / "c").read_text() == "c\n"


@needs_bwrap
def test_timeouts_still_kill_everything_inside(ws: Path) -> None:
    sandbox = open_sandbox(SandboxPolicy(ws))
    ctx = ToolContext(ws, bash_timeout=0.5, kill_grace=0.2, sandbox=sandbox)
    runner = ToolRunner(default_tools(), ctx, PermissionGate("yolo", ws))
    result = runner.execute("bash", {"command": "sleep 30 & sleep 30"})
    assert result.is_error and "timed out" in result.output


class _Hello(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"hello from outside\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@needs_bwrap
def test_allowed_hosts_are_reached_through_the_proxy_and_nothing_else(ws: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with _runner(ws, SandboxPolicy(ws, allow_net=(f"127.0.0.1:{port}",))) as run:
            fetch = "python3 -c \"import urllib.request as u; print(u.urlopen('http://%s/').read().decode())\""
            allowed = run(fetch % f"127.0.0.1:{port}")
            other_port = run(fetch % f"127.0.0.1:{port + 1 if port < 65535 else port - 1}")
            direct = run(f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED || echo REFUSED")
        assert "hello from outside" in allowed.output, allowed.output
        assert "403" in other_port.output and other_port.is_error
        assert "REFUSED" in direct.output  # around the proxy there is no network at all
    finally:
        server.shutdown()
        server.server_close()


def test_host_rules() -> None:
    rules = ("pypi.org", "github.com:443", "*.example.com")
    assert host_allowed(rules, "pypi.org", 80) and host_allowed(rules, "PyPI.org.", 443)
    assert host_allowed(rules, "github.com", 443) and not host_allowed(rules, "github.com", 22)
    assert host_allowed(rules, "a.b.example.com", 443) and host_allowed(rules, "example.com", 80)
    assert not host_allowed(rules, "evil-example.com", 443) and not host_allowed(rules, "pypi.org.evil.com", 443)


def test_the_macos_profile_confines_writes_to_the_workspace(tmp_path: Path) -> None:
    """Generated on every platform; only a Mac can run it (docs/tools-and-permissions.md#sandbox says so)."""
    profile = seatbelt_profile(SandboxPolicy(tmp_path / 'w"s', hidden=(tmp_path / "creds",)), proxy_port=4321)
    assert profile.startswith("(version 1)\n(deny default)\n")
    assert f'(subpath "{tmp_path}/w\\"s")' in profile
    assert f'(deny file-read* file-write* (subpath "{tmp_path}/creds"))' in profile
    assert '(allow network-outbound (remote tcp "localhost:4321"))' in profile
    assert "network-outbound" not in seatbelt_profile(SandboxPolicy(tmp_path))
