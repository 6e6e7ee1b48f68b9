"""``agent mcp list | add | remove | test NAME``: the MCP servers of config.toml and of this project's .mcp.json.

``add`` and ``remove`` edit ``[mcp_servers.NAME]`` tables of the config file and leave everything
else in it as written; ``test`` starts one server the way a run would and lists what it offers.
docs/extensions.md#mcp-servers.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="MCP servers: list them, add or remove one in config.toml, or test one.",
)


@app.command("list")
def list_servers(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every configured server (config.toml, and this project's .mcp.json with whether it is approved)."""
    from agentshell.cli.failures import user_errors

    with user_errors():
        rows = _rows(Path.cwd())
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no MCP servers configured; add one with: agent mcp add NAME -- COMMAND [ARGS...]")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("name", "source", "transport", "command or URL", box=None, header_style="bold")
    for row in rows:
        style = "" if row["enabled"] and row["runs"] else "dim"
        source = row["source"] if row["runs"] else f"{row['source']} ({row['why_not']})"
        table.add_row(Text(row["name"]), Text(source), Text(row["transport"]), Text(row["target"]), style=style)
    Console().print(table)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The server's name: tools become mcp__NAME__TOOL.")],
    command: Annotated[
        list[str] | None, typer.Argument(help="After --: the program and its arguments (stdio servers).")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="A streamable-HTTP endpoint instead of a command.")] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE for the server; ${VAR} reads ours. Repeatable.")
    ] = None,
    header: Annotated[
        list[str] | None, typer.Option("--header", "-H", help="'Name: value' HTTP header; ${VAR} reads ours.")
    ] = None,
    bearer_token_env_var: Annotated[
        str | None, typer.Option("--bearer-token-env-var", help="Send Authorization: Bearer $VAR.")
    ] = None,
) -> None:
    """Add ``[mcp_servers.NAME]`` to config.toml, e.g. ``agent mcp add git -- uvx mcp-server-git``."""
    from agentshell.cli.failures import user_errors

    with user_errors():
        from agentshell.config import config_path
        from agentshell.errors import UsageError
        from agentshell.extensions.settings import SERVER_NAME, McpServerConfig

        if not SERVER_NAME.fullmatch(name) or len(name) > 40:
            raise UsageError(f"server name {name!r}: use letters, digits, _ and - (it becomes part of tool names)")
        if bool(command) == bool(url):
            raise UsageError("give either a command after -- (agent mcp add NAME -- CMD ARGS) or --url URL")
        fields: dict[str, Any] = {"command": command[0], "args": command[1:]} if command else {"url": url}
        fields["env"] = _pairs(env or [], "=", "--env KEY=VALUE")
        fields["headers"] = _pairs(header or [], ":", "--header 'Name: value'")
        fields["bearer_token_env_var"] = bearer_token_env_var
        try:
            config = McpServerConfig.model_validate(fields)
        except ValueError as exc:
            raise UsageError(f"cannot add {name}: {exc}") from None
        path = config_path()
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if name in _configured(text):
            raise UsageError(f"{name} is already in {path}; remove it first (agent mcp remove {name})")
        path.parent.mkdir(parents=True, exist_ok=True)
        table = toml_table(name, config.model_dump(exclude_defaults=True))
        path.write_text((text.rstrip("\n") + "\n\n" if text.strip() else "") + table, encoding="utf-8")
    typer.echo(f"added {name} to {path}; `agent mcp test {name}` starts it once to check")


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The server to remove from config.toml.")]) -> None:
    """Remove ``[mcp_servers.NAME]`` (and its sub-tables) from config.toml."""
    from agentshell.cli.failures import user_errors

    with user_errors():
        from agentshell.config import config_path
        from agentshell.errors import UsageError

        path = config_path()
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if name not in _configured(text):
            where = " (it comes from this project's .mcp.json: edit that file)" if name in _project_names() else ""
            raise UsageError(f"no server {name} in {path}{where}")
        kept = without_table(text, name)
        if name in _configured(kept):
            raise UsageError(f"{name} is not written as a [mcp_servers.{name}] table in {path}; remove it by hand")
        path.write_text(kept, encoding="utf-8")
    typer.echo(f"removed {name} from {path}")


@app.command("test")
def test(name: Annotated[str, typer.Argument(help="The server to start and list.")]) -> None:
    """Start one server as a run would, list its tools and prompts, and stop it; exit 1 when it fails."""
    from agentshell.cli.failures import user_errors

    with user_errors():
        hub, origin = _one_server(name)
        started = time.monotonic()
        hub.start()
        try:
            settled = hub.wait(hub.deadline + 1.0)  # each server has its own deadline; a stuck loop must not hang here
            state = hub.servers[name]
            if state.status != "ready":
                from agentshell.cli.failures import fail

                why = state.error if settled else f"still starting after {hub.deadline:g} s (startup_timeout)"
                fail(1, f"{name} ({origin}): {why}")
            elapsed = time.monotonic() - started
            typer.echo(
                f"{name} ({origin}) started in {elapsed:.2f} s: {len(state.tools)} tools, {len(state.prompts)} prompts"
            )
            from agentshell.extensions.mcp_tools import McpTool

            for remote in state.tools:
                tool = McpTool(hub, name, remote)
                kind = "read" if tool.kind == "read" else "asks"
                about = tool.description.splitlines()[0][:70] if tool.description else ""
                typer.echo(f"  {tool.name}  [{kind}]  {about}")
            for prompt in state.prompts:
                typer.echo(f"  /mcp__{name}__{prompt.name}  (prompt)  {(prompt.description or '')[:70]}")
        finally:
            hub.close()


# --------------------------------------------------------------------------- helpers


def _rows(workspace: Path) -> list[dict[str, Any]]:
    from agentshell.config import data_dir, load_config
    from agentshell.extensions.mcp_config import describe_target
    from agentshell.extensions.project_trust import ProjectTrust, fingerprint
    from agentshell.extensions.startup import read_project

    settings = load_config().settings
    rows = []
    for name, config in settings.mcp_servers.items():
        row = {"name": name, "source": "config", "transport": config.transport, "target": describe_target(config)}
        rows.append(
            {**row, "enabled": config.enabled, "runs": config.enabled, "why_not": "" if config.enabled else "disabled"}
        )
    digest = fingerprint(workspace)
    project = read_project(workspace)
    approved = digest is not None and ProjectTrust(data_dir()).is_trusted(workspace, digest)
    for name, config in project.servers.items():
        shadowed = name in settings.mcp_servers
        why = "shadowed by config" if shadowed else ("" if approved else "not approved")
        row = {"name": name, "source": ".mcp.json", "transport": config.transport, "target": describe_target(config)}
        rows.append({**row, "enabled": config.enabled, "runs": config.enabled and not why, "why_not": why})
    return rows


def _one_server(name: str) -> tuple[Any, str]:
    from agentshell.config import data_dir, load_config
    from agentshell.errors import UsageError
    from agentshell.extensions.mcp_client import McpHub
    from agentshell.extensions.mcp_config import MissingVariable, resolve
    from agentshell.extensions.project_trust import ProjectTrust, fingerprint
    from agentshell.extensions.startup import read_project

    workspace = Path.cwd().resolve()
    servers = load_config().settings.mcp_servers
    origin = "config"
    config = servers.get(name)
    if config is None:
        project = read_project(workspace).servers
        digest = fingerprint(workspace)
        if name not in project:
            known = ", ".join(sorted({*servers, *project})) or "none"
            raise UsageError(f"no MCP server {name} (configured: {known}); add one with agent mcp add")
        if digest is None or not ProjectTrust(data_dir()).is_trusted(workspace, digest):
            raise UsageError(
                f"{name} comes from this project's .mcp.json, not approved yet: run `agent launch` here once"
            )
        config, origin = project[name], ".mcp.json"
    try:
        launch = resolve(name, config, workspace, origin)
    except MissingVariable as exc:
        raise UsageError(f"{name} {exc}") from None
    return McpHub({name: launch}, log_dir=data_dir() / "mcp-logs"), origin


def _pairs(items: list[str], sep: str, form: str) -> dict[str, str]:
    from agentshell.errors import UsageError

    pairs = {}
    for item in items:
        key, found, value = item.partition(sep)
        if not found or not key.strip():
            raise UsageError(f"{item!r}: write {form}")
        pairs[key.strip()] = value.strip()
    return pairs


def _configured(text: str) -> set[str]:
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return set()
    servers = data.get("mcp_servers")
    return set(servers) if isinstance(servers, dict) else set()


def _project_names() -> set[str]:
    from agentshell.extensions.mcp_config import read_project_servers

    return set(read_project_servers(Path.cwd())[0])


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def toml_value(value: Any) -> str:
    """TOML for the values a server entry holds; JSON's string escapes are valid TOML basic strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def toml_table(name: str, fields: dict[str, Any]) -> str:
    lines = [f"[mcp_servers.{toml_key(name)}]"]
    lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n"


def without_table(text: str, name: str) -> str:
    """``text`` without the ``[mcp_servers.NAME]`` table and its ``[mcp_servers.NAME.*]`` sub-tables."""
    quoted = re.escape(name)
    own = re.compile(rf'^\s*\[\s*mcp_servers\s*\.\s*(?:{quoted}|"{quoted}")\s*(?:\.[^\]]*)?\]\s*(?:#.*)?$')
    header = re.compile(r"^\s*\[")
    kept: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        if header.match(line):
            skipping = bool(own.match(line))
        if not skipping:
            kept.append(line)
    return re.sub(r"\n{3,}", "\n\n", "".join(kept))
