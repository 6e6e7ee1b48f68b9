"""Helpers for the extension tests: real MCP servers, a hub and runner over them, and process checks through /proc."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agentshell.extensions.mcp_client import McpHub
from agentshell.extensions.mcp_config import resolve
from agentshell.extensions.settings import McpServerConfig
from agentshell.extensions.toolbox import ExtendedToolRunner
from agentshell.permissions.gate import Approval, ApprovalRequest, PermissionGate
from agentshell.tools import ToolContext, default_tools

BIN = Path(sys.executable).parent
SERVERS = Path(__file__).with_name("mcp_servers.py")


def time_server() -> McpServerConfig:
    return McpServerConfig(command=str(BIN / "mcp-server-time"))


def git_server(repo: Path) -> McpServerConfig:
    return McpServerConfig(command=str(BIN / "mcp-server-git"), args=["--repository", str(repo)])


def own_server(*args: str, **settings: Any) -> McpServerConfig:
    return McpServerConfig(command=sys.executable, args=[str(SERVERS), *(args or ("stdio",))], **settings)


def make_hub(servers: dict[str, McpServerConfig], workspace: Path, log_dir: Path | None = None) -> McpHub:
    hub = McpHub({name: resolve(name, config, workspace) for name, config in servers.items()}, log_dir=log_dir)
    hub.start()
    return hub


def make_runner(
    hub: McpHub,
    workspace: Path,
    mode: str = "ask",
    *,
    allow: Sequence[str] = (),
    deny: Sequence[str] = (),
    ask: Callable[[ApprovalRequest], Approval] | None = None,
    notices: list[str] | None = None,
) -> ExtendedToolRunner:
    gate = PermissionGate(mode, workspace, allow=allow, deny=deny, ask=ask)  # type: ignore[arg-type]
    sink = notices if notices is not None else []
    return ExtendedToolRunner(default_tools(), ToolContext(workspace), gate, hub=hub, notice=sink.append)


def children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (zombies excluded)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def processes_running(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in argv and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_for(condition: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())
