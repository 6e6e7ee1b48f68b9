"""MCP servers end to end, through the same runner the agent uses: real servers someone else wrote
(mcp-server-time, mcp-server-git), and the SDK's own server API for the cases they cannot show."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentshell.extensions.mcp_client import McpHub
from agentshell.extensions.toolbox import ExtendedToolRunner
from agentshell.permissions.gate import Approval, ApprovalRequest, RuleError
from tests.extensions.mcp_servers import BIG
from tests.extensions.support import (
    alive,
    children,
    git_server,
    make_hub,
    make_runner,
    own_server,
    time_server,
    wait_for,
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("repo")
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    (path / "hello.txt").write_text("hi\n")
    return path


@pytest.fixture(scope="module")
def hub(repo: Path) -> Iterator[McpHub]:
    """Three real stdio servers, started once for the module (each takes seconds on a small machine)."""
    hub = make_hub({"time": time_server(), "git": git_server(repo), "test": own_server()}, repo)
    assert hub.wait(60)
    yield hub
    hub.close()


def names(runner: ExtendedToolRunner) -> set[str]:
    return {spec.name for spec in runner.specs()}


def test_tools_appear_with_their_schemas_and_kinds(hub: McpHub, repo: Path) -> None:
    runner = make_runner(hub, repo)
    specs = {spec.name: spec for spec in runner.specs()}
    assert {"read_file", "bash", "mcp__time__get_current_time", "mcp__git__git_status", "mcp__test__echo"} <= set(specs)
    assert "timezone" in specs["mcp__time__get_current_time"].parameters["properties"]
    assert runner.tools["mcp__time__get_current_time"].kind == "read"  # readOnlyHint
    assert runner.tools["mcp__test__write_note"].kind == "execute"  # no hint: it asks
    assert "search_tools" not in specs  # no window known: every schema is sent


def test_a_call_round_trip(hub: McpHub, repo: Path) -> None:
    runner = make_runner(hub, repo, allow=["mcp__git__*"])
    now = runner.execute("mcp__time__get_current_time", {"timezone": "Europe/Paris"})
    assert not now.is_error and "Europe/Paris" in now.output
    status = runner.execute("mcp__git__git_status", {"repo_path": str(repo)})
    assert not status.is_error and "hello.txt" in status.output
    bad = runner.execute("mcp__time__get_current_time", {"timezone": "Not/AZone"})
    assert bad.is_error and "Not/AZone" in bad.output  # the server's error, for the model to read


def test_permission_rules_and_questions_apply(hub: McpHub, repo: Path) -> None:
    denied = make_runner(hub, repo, "yolo", deny=["mcp__time__get_current_time"])
    result = denied.execute("mcp__time__get_current_time", {"timezone": "UTC"})
    assert result.is_error and "denied by rule" in result.output

    quiet = make_runner(hub, repo)  # ask mode, nobody to ask: a tool that is not read-only is refused
    result = quiet.execute("mcp__test__write_note", {"text": "x"})
    assert result.is_error and "--allow" in result.output and "mcp__test__write_note" in result.output
    assert not quiet.execute("mcp__test__echo", {"text": "x"}).is_error  # read-only runs

    asked: list[str] = []

    def refuse(request: ApprovalRequest) -> Approval:
        asked.append(request.summary)
        return "no"

    refusing = make_runner(hub, repo, ask=refuse)
    assert "denied by the user" in refusing.execute("mcp__test__write_note", {"text": "x"}).output
    assert asked and "write_note" in asked[0]

    allowed = make_runner(hub, repo, allow=["mcp__test__*"])
    assert allowed.execute("mcp__test__write_note", {"text": "x"}).output == "noted x"
    read_only = make_runner(hub, repo, "read-only")
    assert "read-only mode" in read_only.execute("mcp__test__write_note", {"text": "x"}).output


def test_a_rule_naming_no_server_is_a_clear_error(hub: McpHub, repo: Path) -> None:
    with pytest.raises(RuleError, match=r"names no MCP server 'gti' \(did you mean git\?\)"):
        make_runner(hub, repo, allow=["mcp__gti__git_status"])


def test_ten_megabytes_come_back_bounded(hub: McpHub, repo: Path) -> None:
    runner = make_runner(hub, repo)
    result = runner.execute("mcp__test__big", {})
    assert not result.is_error
    assert len(result.output) < 40_000 and "of output cut here" in result.output
    assert result.output.startswith("0123456789") and f"{BIG // 100 * 100} bytes" in result.summary


def test_search_tools_stands_in_when_schemas_would_crowd_a_small_window(hub: McpHub, repo: Path) -> None:
    runner = make_runner(hub, repo)
    runner.window = lambda: 4096
    offered = names(runner)
    assert "search_tools" in offered and not any(n.startswith("mcp__") for n in offered)
    found = runner.execute("search_tools", {"query": "current time timezone"})
    assert "mcp__time__get_current_time" in found.output
    assert "mcp__time__get_current_time" in names(runner)
    runner.window = lambda: 1_000_000
    assert "search_tools" not in names(runner)


def test_a_server_that_crashes_mid_call_is_reported_once_and_its_tools_go(tmp_path: Path) -> None:
    notices: list[str] = []
    hub = make_hub({"test": own_server(), "time": time_server()}, tmp_path, log_dir=tmp_path / "logs")
    try:
        runner = make_runner(hub, tmp_path, allow=["mcp__test__*"], notices=notices)
        assert "mcp__test__crash" in names(runner)
        result = runner.execute("mcp__test__crash", {})
        assert result.is_error and "stopped during the call" in result.output
        assert wait_for(lambda: "mcp__test__echo" not in names(runner), 10)
        assert "mcp__time__get_current_time" in names(runner)  # the others keep working
        assert not runner.execute("mcp__time__get_current_time", {"timezone": "UTC"}).is_error
        gone = runner.execute("mcp__test__echo", {"text": "x"})
        assert gone.is_error and "unknown tool" in gone.output
        runner.specs()
        assert len([n for n in notices if "MCP server test" in n]) == 1, notices
    finally:
        hub.close()


@pytest.mark.timeout(120)  # liveness guard: waiting on a server that never answers fails here
def test_a_server_that_never_answers_initialize_is_given_up_on(tmp_path: Path) -> None:
    notices: list[str] = []
    hub = make_hub({"mute": own_server("silent", startup_timeout=1.5), "time": time_server()}, tmp_path)
    try:
        runner = make_runner(hub, tmp_path, notices=notices)
        offered = names(runner)
        assert "mcp__time__get_current_time" in offered and not any(n.startswith("mcp__mute") for n in offered)
        assert any("mute did not start within 1.5 s" in n for n in notices), notices
        assert wait_for(lambda: not any("silent" in _cmdline(pid) for pid in children(os.getpid())), 10)
    finally:
        hub.close()


def test_a_missing_program_is_one_notice(tmp_path: Path) -> None:
    from agentshell.extensions.settings import McpServerConfig

    hub = make_hub({"nope": McpServerConfig(command="/nonexistent/mcp-server")}, tmp_path)
    notices: list[str] = []
    runner = make_runner(hub, tmp_path, notices=notices)
    assert not any(n.startswith("mcp__") for n in names(runner))
    assert notices == [
        "warning: MCP server nope could not start: No such file or directory: /nonexistent/mcp-server; "
        "going on without its tools"
    ]
    hub.close()


@pytest.mark.timeout(120)  # liveness guard: a close that waits on a server forever fails here
def test_close_leaves_no_process_behind(tmp_path: Path) -> None:
    before = set(children(os.getpid()))  # the module's shared servers, still running
    hub = make_hub({"a": own_server(), "b": time_server(), "c": own_server()}, tmp_path)
    assert hub.wait(60)
    runner = make_runner(hub, tmp_path, "yolo")
    pids = [int(runner.execute(f"mcp__{s}__pid", {}).output) for s in ("a", "c")]
    ours = [pid for pid in children(os.getpid()) if pid not in before]
    assert set(pids) <= set(ours) and len(ours) >= 3
    hub.close()
    assert not [pid for pid in ours if alive(pid)]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_rule_names_for_a_whole_server(tmp_path: Path) -> None:
    from agentshell.permissions.gate import Rule

    assert Rule.parse("mcp__git").names("mcp__git__git_commit", "execute")
    assert not Rule.parse("mcp__git").names("mcp__github__issue", "execute")
    assert Rule.parse("mcp__git__*").names("mcp__git__git_commit", "execute")
    assert Rule.parse("mcp__*").names("mcp__time__now", "read")
    assert not Rule.parse("mcp__git__git_log").names("mcp__git__git_commit", "execute")
