"""Which MCP servers to start, and exactly how: config.toml's ``[mcp_servers.NAME]`` and a project's ``.mcp.json``.

``${VAR}`` and ``${VAR:-default}`` in args, env, url and headers are read from the environment
(Claude Code's convention), so a token never has to be written into a file. Values that hold
credentials are registered with :mod:`agentshell.redact`, so a server that echoes one back does
not put it in front of the model. Plain data only: the SDK is imported by the thread that
starts the servers (extensions/mcp_client.py), never here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from agentshell.extensions.settings import SERVER_NAME, McpServerConfig
from agentshell.redact import add_secret, is_secret_variable

PROJECT_FILE = ".mcp.json"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_SECRET_HEADERS = re.compile(r"authorization|token|key|secret|cookie", re.IGNORECASE)


class MissingVariable(ValueError):
    """A ``${VAR}`` without a default names a variable that is not set."""


@dataclass(frozen=True)
class ServerLaunch:
    """A server's configuration with every ``${VAR}`` filled in: what the client needs to connect."""

    name: str
    config: McpServerConfig
    origin: str  # "config" or the path of the project's .mcp.json
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str:
        """What ``agent mcp list`` shows: the command line or the URL."""
        return " ".join([self.command or "", *self.args]) if self.command else (self.url or "")


def expand(text: str, environ: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        raise MissingVariable(f"needs the environment variable {name}, which is not set")

    return _VAR.sub(one, text)


def resolve(
    name: str,
    config: McpServerConfig,
    workspace: Path,
    origin: str = "config",
    environ: Mapping[str, str] | None = None,
) -> ServerLaunch:
    """The launch of one server; raises :class:`MissingVariable` when a ``${VAR}`` it needs is unset."""
    env_in = os.environ if environ is None else environ
    if config.command is not None:
        env = {key: expand(value, env_in) for key, value in config.env.items()}
        for key, value in env.items():
            if is_secret_variable(key):
                add_secret(value, f"mcp_servers.{name}.env.{key}")
        cwd = str((workspace / os.path.expanduser(config.cwd)).resolve()) if config.cwd else str(workspace)
        args = [expand(arg, env_in) for arg in config.args]
        return ServerLaunch(name, config, origin, command=expand(config.command, env_in), args=args, env=env, cwd=cwd)
    headers = {key: expand(value, env_in) for key, value in config.headers.items()}
    if config.bearer_token_env_var:
        token = env_in.get(config.bearer_token_env_var)
        if not token:
            raise MissingVariable(f"needs the environment variable {config.bearer_token_env_var}, which is not set")
        headers["Authorization"] = f"Bearer {token}"
    for key, value in headers.items():
        if _SECRET_HEADERS.search(key):
            add_secret(value.removeprefix("Bearer ").strip(), f"mcp_servers.{name}.headers.{key}")
    assert config.url is not None
    return ServerLaunch(name, config, origin, url=expand(config.url, env_in), headers=headers)


def read_project_servers(workspace: Path) -> tuple[dict[str, McpServerConfig], list[str]]:
    """The servers a project's ``.mcp.json`` declares (``{"mcpServers": {NAME: {...}}}``) and what was wrong with it.

    Claude Code's format: ``type`` (stdio, http) is implied by command or url, keys agentshell does not
    know are skipped, and a broken file or entry is reported rather than stopping the agent.
    """
    path = workspace / PROJECT_FILE
    if not path.is_file():
        return {}, []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return {}, [f"{path}: cannot read it ({exc}); its servers are not started"]
    entries = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        return {}, [f'{path}: no "mcpServers" object; nothing to start']
    servers: dict[str, McpServerConfig] = {}
    problems: list[str] = []
    known = set(McpServerConfig.model_fields)
    for name, entry in entries.items():
        if not SERVER_NAME.fullmatch(str(name)) or not isinstance(entry, dict):
            problems.append(f"{path}: server {name!r} skipped (names are letters, digits, _ and -; entries objects)")
            continue
        if entry.get("type") == "sse":
            problems.append(f"{path}: server {name} uses the old SSE transport, which agentshell does not speak")
            continue
        try:
            servers[name] = McpServerConfig.model_validate({k: v for k, v in entry.items() if k in known})
        except ValidationError as exc:
            problems.append(f"{path}: server {name} skipped: {_first_error(exc)}")
    return servers, problems


def _first_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def describe_target(config: McpServerConfig) -> str:
    """The command line or URL as written, ``${VAR}`` unexpanded (nothing secret is shown)."""
    if config.command is not None:
        return " ".join([config.command, *config.args])
    return config.url or ""
