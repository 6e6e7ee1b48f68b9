"""The MCP servers an editor passes with ``session/new``, as agentshell's own ``[mcp_servers.NAME]`` entries.

They join the config file's servers for that session (the editor's win on a shared name) and go
through the same client and permission gate (docs/extensions.md). Stdio and streamable-HTTP servers
are taken; SSE and ACP-transport servers are refused with a clear error, and ``initialize`` says so
(``mcpCapabilities``: http, not sse).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from acp import schema
from pydantic import ValidationError

from agentshell.api.assembly import LaunchOptions
from agentshell.cli.acp_session import invalid
from agentshell.extensions.settings import McpServerConfig

EditorServer = schema.HttpMcpServer | schema.SseMcpServer | schema.AcpMcpServer | schema.McpServerStdio
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SessionLaunchOptions(LaunchOptions):
    """``agent acp``'s options for one session: the launch flags plus the editor's MCP servers."""

    mcp_servers: dict[str, McpServerConfig] = field(default_factory=dict)

    def flags(self) -> dict[str, Any]:
        servers = {f"mcp_servers.{name}": config.model_dump(exclude_defaults=True) for name, config in self.servers()}
        return {**super().flags(), **servers}

    def servers(self) -> list[tuple[str, McpServerConfig]]:
        return list(self.mcp_servers.items())


def server_name(raw: str, taken: set[str]) -> str:
    """A name fit for ``mcp__NAME__TOOL``: letters, digits, ``_`` and ``-``, at most 40, unique in the session."""
    base = _NOT_A_NAME.sub("_", raw).strip("_")[:36] or "editor"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def editor_servers(servers: Sequence[EditorServer] | None) -> dict[str, McpServerConfig]:
    """The editor's servers as config entries; raises ``RequestError`` (invalid params) for one that cannot run."""
    found: dict[str, McpServerConfig] = {}
    for server in servers or ():
        name = server_name(server.name, set(found))
        try:
            if isinstance(server, schema.McpServerStdio):
                env = {variable.name: variable.value for variable in server.env}
                found[name] = McpServerConfig(command=server.command, args=list(server.args), env=env)
            elif isinstance(server, schema.HttpMcpServer):
                headers = {header.name: header.value for header in server.headers}
                found[name] = McpServerConfig(url=server.url, headers=headers)
            else:
                raise invalid(f"{server.name}: {server.type} MCP servers are not supported, only stdio and http")
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise invalid(f"{server.name}: {problem}") from None
    return found
