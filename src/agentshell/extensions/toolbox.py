"""The tool runner of a run with extensions: the built-in tools, the MCP servers' tools, and hooks around each call.

It is a :class:`~agentshell.tools.runner.ToolRunner`, so every MCP call takes the same path as a
built-in one: argument checks, the permission gate, output bounds, redaction. Servers start in
the background; the first request waits for those still starting (each within its
``startup_timeout``), later ones take the tools as they are. A server that fails or dies is
reported once and its tools leave the list. PreToolUse hooks run before the gate and may block a
call; PostToolUse hooks see the result and may add to what the model reads (extensions/hooks.py).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentshell.extensions.mcp_tools import McpTool, SearchTools
from agentshell.permissions.gate import PermissionGate, RuleError
from agentshell.protocol import ToolSpec
from agentshell.tools.base import Tool, ToolContext, ToolResult
from agentshell.tools.runner import ToolRunner

if TYPE_CHECKING:
    from agentshell.extensions.hooks import HookRunner
    from agentshell.extensions.mcp_client import McpHub

SCHEMA_SHARE = 0.2  # MCP schemas may take this share of the context window before search_tools stands in for them
CHARS_PER_TOKEN = 3.5  # as loop/context.py estimates: lower overestimates, which is the safe side here


class ExtendedToolRunner(ToolRunner):
    def __init__(
        self,
        tools: Sequence[Tool[Any]],
        ctx: ToolContext,
        gate: PermissionGate,
        *,
        hub: McpHub | None = None,
        hooks: HookRunner | None = None,
        notice: Callable[[str], None] = lambda line: None,
        schema_share: float = SCHEMA_SHARE,
    ) -> None:
        super().__init__(tools, ctx, gate)
        check_mcp_rules(gate, hub.servers if hub is not None else {})
        self.builtin: dict[str, Tool[Any]] = dict(self.tools)
        self.hub, self.hooks, self.notice = hub, hooks, notice
        self.schema_share = schema_share
        self.window: Callable[[], int | None] = lambda: None  # the model's context length, set by api/assembly.py
        self.mcp: dict[str, McpTool] = {}
        self.loaded: set[str] = set()  # MCP tools search_tools has offered
        self._search = SearchTools(lambda: list(self.mcp.values()), self.loaded.update)
        self._seen = -1
        self._waited = False

    def sync(self, *, wait: bool) -> None:
        """Take the servers' news on this thread: notices, tools that came or went (the dict is replaced, never
        changed in place, so a caller iterating over the old one is safe)."""
        hub = self.hub
        if hub is None:
            return
        if wait and not self._waited and hub.started:
            self._waited = True
            hub.wait(hub.deadline + 1.0)
        for line in hub.take_notices():
            self.notice(line)
        if hub.version == self._seen:
            return
        self._seen = hub.version
        found: dict[str, McpTool] = {}
        for state in hub.ready():
            for remote in state.tools:
                tool = McpTool(hub, state.name, remote)
                found.setdefault(tool.name, tool)
        self.mcp = found
        extra: dict[str, Tool[Any]] = {self._search.name: self._search} if found else {}
        self.tools = {**self.builtin, **found, **extra}

    def specs(self) -> list[ToolSpec]:
        self.sync(wait=True)
        specs = super().specs()
        if not self.mcp:
            return specs
        window = self.window()
        offered = [s for s in specs if s.name in self.mcp]
        if window is None or schema_tokens(offered) <= self.schema_share * window:
            return [s for s in specs if s.name != self._search.name]
        return [s for s in specs if s.name not in self.mcp or s.name in self.loaded]

    def execute(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        self.sync(wait=True)
        hooks = self.hooks
        if hooks is not None:
            refused = hooks.pre_tool(name, dict(arguments) if isinstance(arguments, Mapping) else {})
            if refused is not None:
                return ToolResult(f"error: blocked by a PreToolUse hook: {refused}", is_error=True, summary="blocked")
        result = super().execute(name, arguments)
        if hooks is not None:
            note = hooks.post_tool(name, dict(arguments) if isinstance(arguments, Mapping) else {}, result)
            if note:
                result = dataclasses.replace(result, output=f"{result.output}\n\n{note}")
        return result


def schema_tokens(specs: Iterable[ToolSpec]) -> float:
    return sum(len(json.dumps(s.model_dump(), ensure_ascii=False)) for s in specs) / CHARS_PER_TOKEN


def check_mcp_rules(gate: PermissionGate, servers: Mapping[str, object]) -> None:
    """A rule naming ``mcp__SERVER__...`` must name a configured server: a typo would silently match nothing."""
    known = {name.lower() for name in servers}
    for rule in (*gate.allow, *gate.deny):
        if not rule.name.startswith("mcp__"):
            continue
        server = rule.name[len("mcp__") :].split("__", 1)[0]
        if "*" in server or server in known:
            continue
        close = difflib.get_close_matches(server, sorted(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        names = ", ".join(sorted(known)) or "none"
        raise RuleError(f"permission rule '{rule}' names no MCP server {server!r}{hint}; configured: {names}")
