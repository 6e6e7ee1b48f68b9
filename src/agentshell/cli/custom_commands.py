"""Custom slash commands and MCP prompts in the front ends: ``/NAME args`` in the shell and as the ``-p`` prompt.

What a command is and where its files live: agentshell/extensions/commands.py. Here: finding one
for a run, and running a request under its front matter (``model`` for that request, ``allowed-tools``
as allow rules for that request) and nothing longer. docs/extensions.md#custom-commands.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from agentshell.config import config_dir
from agentshell.errors import UsageError
from agentshell.extensions.commands import ExtensionCommand, all_commands
from agentshell.permissions.gate import Rule
from agentshell.tools.base import ToolError

if TYPE_CHECKING:
    from agentshell.api.assembly import Assembly
    from agentshell.loop.agent import Agent


def commands(parts: Assembly, reserved: Collection[str] = ()) -> dict[str, ExtensionCommand]:
    hub = parts.extensions.hub if parts.extensions is not None else None
    return all_commands(parts.workspace, config_dir(), hub, reserved)


def find(parts: Assembly, name: str, reserved: Collection[str] = ()) -> ExtensionCommand | None:
    """The command ``/name`` names; an MCP prompt waits for servers still starting (within their deadline)."""
    bare = name.removeprefix("/")
    found = commands(parts, reserved).get(bare)
    hub = parts.extensions.hub if parts.extensions is not None else None
    if found is None and bare.startswith("mcp__") and hub is not None and hub.started:
        hub.wait(hub.deadline + 1.0)
        found = commands(parts, reserved).get(bare)
    return found


def listing(parts: Assembly, reserved: Collection[str] = ()) -> list[tuple[str, str]]:
    """``("/name hint", description)`` for /help and completion, sorted by name."""
    found = commands(parts, reserved)
    return [(f"/{name} {c.argument_hint}".strip(), c.description) for name, c in sorted(found.items())]


@contextmanager
def command_scope(parts: Assembly, agent: Agent | None, command: ExtensionCommand) -> Iterator[None]:
    """The request runs with the command's model and allowed tools; both are put back after it, whatever happens."""
    saved_rules = list(parts.gate.allow)
    saved = (parts.model, parts.backend.name)
    parts.gate.allow.extend(Rule.parse(rule) for rule in command.allowed_tools)
    switched = command.model is not None and command.model != parts.model
    try:
        if switched:
            assert command.model is not None
            parts.switch(command.model)
            if agent is not None:
                agent.switch(parts.backend, parts.model, parts.context)
        yield
    finally:
        parts.gate.allow[:] = saved_rules
        if switched:
            parts.switch(*saved)
            if agent is not None:
                agent.switch(parts.backend, parts.model, parts.context)


def script_prompt(parts: Assembly, text: str, notice: Callable[[str], None]) -> str:
    """``-p "/NAME args"``: the command's prompt, its model and allowed tools for the whole (one-request) run.

    Text that starts with ``/`` but names no command (``/etc/hosts is broken``) goes to the model as written.
    """
    if not text.startswith("/"):
        return text
    name, _, arguments = text.partition(" ")
    command = find(parts, name)
    if command is None:
        return text
    for problem in command.problems:
        notice(f"warning: /{command.name}: {problem}; that rule is ignored")
    parts.gate.allow.extend(Rule.parse(rule) for rule in command.allowed_tools)
    if command.model is not None and command.model != parts.model:
        parts.switch(command.model)
    try:
        return command.expand(arguments)
    except ToolError as exc:  # an MCP prompt's missing argument, or its server gone
        raise UsageError(str(exc)) from None
