"""The config file's ``[mcp_servers.NAME]`` and ``[[hooks.EVENT]]`` tables, validated like every other setting.

Kept apart from the code that uses them so that ``agentshell.config`` can name them without importing
the MCP SDK, and so ``.mcp.json`` (Claude Code's format) is read into the same models.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

HookEvent = Literal["PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SessionStart"]
HOOK_EVENTS: tuple[HookEvent, ...] = get_args(HookEvent)
SERVER_NAME = re.compile(r"[A-Za-z0-9_-]+")  # it becomes part of tool names: mcp__NAME__TOOL
ServerName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+$", max_length=40)]
MAX_TIMEOUT = 3600.0


class McpServerConfig(BaseModel):
    """One MCP server: a command to run (stdio) or a URL (streamable HTTP). See docs/extensions.md."""

    model_config = ConfigDict(extra="forbid")

    command: str | None = None
    """Program to run, e.g. ``uvx``; its stdin and stdout carry the protocol."""
    args: list[str] = Field(default_factory=list)
    """Its arguments, e.g. ``["mcp-server-git", "--repository", "."]``."""
    env: dict[str, str] = Field(default_factory=dict)
    """Variables for it on top of a minimal environment (HOME, PATH...); ``${VAR}`` takes one from ours."""
    cwd: str | None = None
    """Directory to start it in; the workspace when unset."""
    url: str | None = None
    """Endpoint of a streamable-HTTP server, e.g. ``https://example.com/mcp``."""
    headers: dict[str, str] = Field(default_factory=dict)
    """HTTP headers, e.g. ``{Authorization = "Bearer ${GITHUB_TOKEN}"}``: ``${VAR}`` is read from the environment."""
    bearer_token_env_var: str | None = None
    """Environment variable holding a bearer token sent as ``Authorization: Bearer ...`` (Codex's key)."""
    enabled: bool = True
    """false keeps the entry without starting the server."""
    startup_timeout: float = Field(10.0, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    """Seconds it may take to start and list its tools before it is given up on."""
    tool_timeout: float = Field(60.0, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    """Seconds one tool call may take."""

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (a program to run) or url (a streamable-HTTP endpoint)")
        return self

    @property
    def transport(self) -> Literal["stdio", "http"]:
        return "stdio" if self.command is not None else "http"


class HookConfig(BaseModel):
    """One hook: a shell command run at an event, Claude Code's contract (docs/extensions.md#hooks)."""

    model_config = ConfigDict(extra="forbid")

    command: str
    """Run with ``sh -c`` in the workspace; the event arrives as JSON on its stdin."""
    matcher: str = ""
    """For tool events: which tools, e.g. ``bash``, ``edit_file|write_file``, ``mcp__git__*``; empty is all."""
    timeout: float = Field(60.0, gt=0, le=MAX_TIMEOUT, allow_inf_nan=False)
    """Seconds before the command is killed and the agent goes on."""
