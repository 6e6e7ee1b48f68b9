"""Everything extensions add to one run, gathered once: which servers start, which hooks run, what is approved.

``api/assembly.py`` calls :func:`open_extensions` while it builds the run, then :meth:`Extensions.start`
last, so the servers start in the background while the first prompt is being typed. The user's
own config (``[mcp_servers.NAME]``, ``[[hooks.EVENT]]``) applies at once; a project's
(``.mcp.json``, ``.agentshell/config.toml``, ``.claude/settings.json``) only after the user approves
it once (extensions/project_trust.py). On a name clash the user's own server wins.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agentshell.extensions.hooks import HookRunner
from agentshell.extensions.project_trust import PROJECT_FILES, ProjectTrust, fingerprint
from agentshell.extensions.settings import HookConfig, HookEvent, McpServerConfig
from agentshell.permissions.gate import Approval, ApprovalRequest

if TYPE_CHECKING:
    from agentshell.extensions.mcp_client import McpHub
    from agentshell.extensions.mcp_config import ServerLaunch

Ask = Callable[[ApprovalRequest], Approval]
ProjectStatus = Literal["none", "approved", "declined", "not approved"]


@dataclass
class Extensions:
    hub: McpHub | None
    hooks: HookRunner
    launches: dict[str, ServerLaunch] = field(default_factory=dict)
    project: ProjectStatus = "none"

    def start(self) -> None:
        if self.hub is not None:
            self.hub.start()

    def close(self) -> None:
        if self.hub is not None:
            self.hub.close()


@dataclass(frozen=True)
class ProjectExtensions:
    servers: dict[str, McpServerConfig]
    hooks: dict[HookEvent, list[HookConfig]]
    problems: list[str]

    def __bool__(self) -> bool:
        return bool(self.servers or self.hooks)

    def listing(self) -> str:
        from agentshell.extensions.mcp_config import describe_target

        lines = [f"MCP server {name}: {describe_target(config)}" for name, config in self.servers.items()]
        lines += [f"{event} hook: {hook.command}" for event, hooks in self.hooks.items() for hook in hooks]
        return "\n".join(lines)


def read_project(workspace: Path) -> ProjectExtensions:
    # Only for a project that has such files (or `agent mcp`): a text run elsewhere loads neither reader.
    from agentshell.extensions.mcp_config import read_project_servers
    from agentshell.extensions.project_hooks import read_project_hooks

    servers, problems = read_project_servers(workspace)
    hooks, more = read_project_hooks(workspace)
    return ProjectExtensions(servers, hooks, problems + more)


def project_approval(
    workspace: Path, data_dir: Path, ask: Ask | None, notice: Callable[[str], None]
) -> tuple[ProjectExtensions | None, ProjectStatus]:
    """The project's servers and hooks when approved (asking once where someone can answer), else None."""
    digest = fingerprint(workspace)
    if digest is None:
        return None, "none"
    project = read_project(workspace)
    for problem in project.problems:
        notice(f"warning: {problem}")
    if not project:
        return None, "none"
    trust = ProjectTrust(data_dir)
    if trust.is_trusted(workspace, digest):
        return project, "approved"
    if ask is None:
        notice(
            "this project's MCP servers and hooks are not approved, so they do not run; "
            "approve them once by starting `agent launch` here without -p (they run in every mode after that)"
        )
        return None, "not approved"
    request = ApprovalRequest(
        tool="project",
        kind="execute",
        summary=f"run the MCP servers and hooks this project declares ({', '.join(_present(workspace))})",
        detail=project.listing(),
        reason="a repository's commands run on your machine only once you approve them; asked again if they change",
    )
    if ask(request) in ("yes", "always"):
        trust.trust(workspace, digest)
        return project, "approved"
    notice("this project's MCP servers and hooks do not run (asked again next time)")
    return None, "declined"


def open_extensions(
    servers: Mapping[str, McpServerConfig],
    hooks: Mapping[HookEvent, Sequence[HookConfig]],
    workspace: Path,
    data_dir: Path,
    *,
    ask: Ask | None,
    notice: Callable[[str], None],
    debug: bool = False,
    hidden_env: tuple[str, ...] = (),
    pass_env: tuple[str, ...] = (),
) -> Extensions:
    """The run's extensions, servers not started yet (:meth:`Extensions.start`).

    ``hidden_env`` and ``pass_env`` are the bash tool's (``ToolContext``): hooks get the environment commands get.
    """
    project, status = project_approval(workspace, data_dir, ask, notice)
    chosen: dict[str, tuple[McpServerConfig, str]] = {}
    if project is not None:
        chosen.update((name, (config, str(workspace / ".mcp.json"))) for name, config in project.servers.items())
    chosen.update((name, (config, "config")) for name, config in servers.items())
    launches: dict[str, ServerLaunch] = {}
    if chosen:  # resolving a server's command and environment is mcp_config's; without servers it is not loaded
        from agentshell.extensions.mcp_config import MissingVariable, resolve
    for name, (config, origin) in chosen.items():
        if not config.enabled:
            continue
        try:
            launches[name] = resolve(name, config, workspace, origin)
        except MissingVariable as exc:
            notice(f"warning: MCP server {name} {exc}; not started")
    all_hooks: dict[HookEvent, list[HookConfig]] = {event: list(entries) for event, entries in hooks.items()}
    if project is not None:
        for event, entries in project.hooks.items():
            all_hooks.setdefault(event, []).extend(entries)
    hub = None
    if launches:
        from agentshell.extensions.mcp_client import McpHub

        hub = McpHub(launches, log_dir=data_dir / "mcp-logs")
        atexit.register(hub.close)  # a path out of the agent that skips Assembly.close still stops the servers
    runner = HookRunner(all_hooks, workspace, notice=notice, debug=debug, hidden_env=hidden_env, pass_env=pass_env)
    return Extensions(hub, runner, launches, status)


def _present(workspace: Path) -> list[str]:
    return [name for name in PROJECT_FILES if (workspace / name).is_file()]
