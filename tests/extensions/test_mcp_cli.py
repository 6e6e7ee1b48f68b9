"""MCP servers in a real ``agent launch`` process: tools in stream-json, Ctrl-C and a killed agent leave no
server behind, a project's .mcp.json waits for approval."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentshell.config import data_dir
from agentshell.extensions.project_trust import ProjectTrust, fingerprint
from tests.cli.launch_support import agent_command, call, run_agent, sigint_default, text, write_script
from tests.extensions.support import SERVERS, alive, children, processes_running, wait_for

pytestmark = pytest.mark.slow


def configure(servers: str) -> None:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "agentshell" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(servers, encoding="utf-8")


def own_server_toml(name: str, *extra: str) -> str:
    args = json.dumps([str(SERVERS), "stdio", *extra])
    return f'[mcp_servers.{name}]\ncommand = "{sys.executable}"\nargs = {args}\n'


def events(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_mcp_tools_reach_the_model_and_pass_the_gate(tmp_path: Path) -> None:
    configure(own_server_toml("test"))
    model = write_script(
        tmp_path,
        [
            [call("mcp__test__echo", "c1", text="hi")],
            [call("mcp__test__write_note", "c2", text="x")],
            [text("done")],
        ],
    )
    result = run_agent("launch", "-m", model, "-p", "go", "--output-format", "stream-json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = events(result.stdout)
    results = {e["id"]: e for e in lines if e["type"] == "tool_result"}
    assert results["c1"]["output"] == "echo: hi"
    assert results["c2"]["is_error"] and "mcp__test__write_note" in str(results["c2"]["output"])  # asks: denied


def stream_until_call(tmp_path: Path, name: str) -> subprocess.Popen[str]:
    configure(own_server_toml("test") + own_server_toml("other"))
    model = write_script(tmp_path, [[call("mcp__test__slow", seconds=120)], [text("unreachable")]])
    proc = subprocess.Popen(
        agent_command("launch", "-m", model, "-p", "wait", "--allow", "mcp__test__*", "--output-format", "stream-json"),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if '"type":"tool_call"' in line:
            break
    return proc


@pytest.mark.parametrize("how", ["ctrl-c", "kill"])
def test_no_server_outlives_the_agent(tmp_path: Path, how: str) -> None:
    proc = stream_until_call(tmp_path, "slow")
    try:
        assert wait_for(lambda: len(processes_running(str(SERVERS))) == 2, 30)
        servers = [pid for pid in children(proc.pid) if pid in processes_running(str(SERVERS))]
        assert len(servers) == 2
        os.kill(proc.pid, signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if how == "ctrl-c":
        assert proc.returncode == 130
    assert wait_for(lambda: not any(alive(pid) for pid in servers), 10), "an MCP server outlived the agent"


def test_ctrl_c_that_passed_through_exec_still_exits_130(tmp_path: Path) -> None:
    """Ctrl-C landing while a tool's module is imported (its dataclasses exec generated code) once made
    ``python -m agentshell`` die by SIGINT (-2) after printing "interrupted", not exit 130; see __main__.py."""
    (tmp_path / "sitecustomize.py").write_text(
        "import agentshell.cli.app as app\n"
        "def interrupted_in_exec(argv=None):\n"
        "    try:\n"
        "        exec('raise KeyboardInterrupt')\n"
        "    except KeyboardInterrupt:\n"
        "        raise SystemExit(130) from None\n"
        "app.main = interrupted_in_exec\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(agent_command("--version"), env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 130, result.stderr


def test_a_project_mcp_json_waits_for_approval(tmp_path: Path) -> None:
    entry = {"command": sys.executable, "args": [str(SERVERS), "stdio"]}
    (tmp_path / ".mcp.json").write_text(json.dumps({"mcpServers": {"proj": entry}}), encoding="utf-8")
    model = write_script(tmp_path, [[call("mcp__proj__echo", text="hi")], [text("done")]])
    args = ("launch", "-m", model, "-p", "go", "--output-format", "stream-json")

    refused = run_agent(*args, cwd=tmp_path)
    assert refused.returncode == 0, refused.stderr
    assert refused.stderr.count("not approved") == 1
    (first,) = [e for e in events(refused.stdout) if e["type"] == "tool_result"]
    assert "unknown tool" in str(first["output"])
    assert not processes_running(str(SERVERS))

    digest = fingerprint(tmp_path)
    assert digest is not None
    ProjectTrust(data_dir()).trust(tmp_path, digest)  # what answering yes in the shell stores
    approved = run_agent(*args, cwd=tmp_path)
    (second,) = [e for e in events(approved.stdout) if e["type"] == "tool_result"]
    assert second["output"] == "echo: hi", approved.stderr

    (tmp_path / ".mcp.json").write_text(json.dumps({"mcpServers": {"proj": {**entry, "args": ["-c", "0"]}}}))
    changed = run_agent(*args, cwd=tmp_path)
    assert "not approved" in changed.stderr  # a changed command asks again


def test_hooks_show_in_stream_json_and_debug(tmp_path: Path) -> None:
    configure(
        '[[hooks.PreToolUse]]\nmatcher = "bash"\ncommand = "echo nope >&2; exit 2"\n'
        "[[hooks.UserPromptSubmit]]\ncommand = \"echo 'extra context'\"\n"
    )
    model = write_script(tmp_path, [[call("bash", command="touch made")], [text("done")]])
    result = run_agent(
        "launch", "-m", model, "-p", "go", "--permission-mode", "yolo", "--output-format", "stream-json", "--debug",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    hooks = [e for e in events(result.stdout) if e["type"] == "hook"]
    assert [(h["event"], h["outcome"]) for h in hooks] == [("UserPromptSubmit", "ok"), ("PreToolUse", "blocked")]
    assert hooks[1]["tool_name"] == "bash" and hooks[1]["message"] == "nope" and hooks[1]["exit_code"] == 2
    (tool_result,) = [e for e in events(result.stdout) if e["type"] == "tool_result"]
    assert tool_result["output"] == "error: blocked by a PreToolUse hook: nope"
    assert not (tmp_path / "made").exists()
    assert "hook PreToolUse bash `echo nope >&2; exit 2` blocked" in result.stderr
