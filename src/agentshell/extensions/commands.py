"""Custom slash commands: Markdown files whose text becomes the prompt, in Claude Code's format.

``/NAME args`` looks for ``NAME.md`` in, first match wins: the project's ``.agentshell/commands/``,
its ``.claude/commands/``, the config directory's ``commands/``, then ``~/.claude/commands/``.
``$ARGUMENTS`` becomes everything after the name and ``$1``…``$9`` its words (shell quoting
applies); a file with neither gets the arguments appended. Optional front matter::

    ---
    description: Commit what is staged with a good message
    model: qwen3:8b
    allowed-tools: Bash(git add:*), Bash(git commit:*), edit_file
    argument-hint: [message]
    ---

``model`` runs that one request on another model; ``allowed-tools`` are permission rules
(Claude Code's ``Bash(git add:*)`` or agentshell's ``bash(git add *)``) in force for that request
only. A command is text for the model, never run by agentshell, so a project's commands need no
approval. docs/extensions.md#custom-commands.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentshell.permissions.gate import RuleError, check_rules

if TYPE_CHECKING:
    from agentshell.extensions.mcp_client import McpHub

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
MAX_FILE_BYTES = 256 * 1024
_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_POSITIONAL = re.compile(r"\$([1-9])")
# Claude Code's tool names in allowed-tools -> agentshell's rule names.
_RULE_NAMES = {"bash": "bash", "read": "read", "write": "edit", "edit": "edit", "multiedit": "edit", "glob": "glob"}
_RULE_NAMES |= {"grep": "grep", "ls": "list_dir"}


@dataclass(frozen=True)
class CustomCommand:
    name: str
    path: Path
    body: str
    description: str = ""
    model: str | None = None
    allowed_tools: tuple[str, ...] = ()  # agentshell permission rules
    argument_hint: str = ""
    problems: tuple[str, ...] = field(default=())

    @property
    def source(self) -> str:
        return "project" if ".agentshell" in self.path.parts or self._in_project_claude else "user"

    @property
    def _in_project_claude(self) -> bool:
        return ".claude" in self.path.parts and Path.home() / ".claude" not in self.path.parents

    def expand(self, arguments: str) -> str:
        """The prompt: ``$ARGUMENTS`` and ``$1``… filled in from what followed ``/NAME``."""
        arguments = arguments.strip()
        try:
            words = shlex.split(arguments)
        except ValueError:  # an unbalanced quote: the words as typed
            words = arguments.split()
        uses = "$ARGUMENTS" in self.body or _POSITIONAL.search(self.body) is not None
        text = self.body.replace("$ARGUMENTS", arguments)
        text = _POSITIONAL.sub(lambda m: words[int(m.group(1)) - 1] if int(m.group(1)) <= len(words) else "", text)
        if arguments and not uses:
            text = f"{text.rstrip()}\n\nARGUMENTS: {arguments}"
        return text.strip()


def command_dirs(workspace: Path, config_dir: Path) -> list[Path]:
    """Where commands are looked for, first match wins."""
    return [
        workspace / ".agentshell" / "commands",
        workspace / ".claude" / "commands",
        config_dir / "commands",
        Path.home() / ".claude" / "commands",
    ]


def load_commands(workspace: Path, config_dir: Path, reserved: Collection[str] = ()) -> dict[str, CustomCommand]:
    """Every custom command by name (without the slash); names the shell uses itself (``/help``) are skipped."""
    found: dict[str, CustomCommand] = {}
    for directory in command_dirs(workspace, config_dir):
        try:
            files = sorted(directory.glob("*.md")) if directory.is_dir() else []
        except OSError:
            continue
        for path in files:
            name = path.stem
            if not NAME.fullmatch(name) or name in found or f"/{name}" in reserved:
                continue
            command = read_command(name, path)
            if command is not None:
                found[name] = command
    return found


def read_command(name: str, path: Path) -> CustomCommand | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
    except OSError:
        return None
    meta: dict[str, str] = {}
    match = _FRONT.match(text)
    if match:
        meta = _front_matter(match.group(1))
        text = text[match.end() :]
    rules, problems = _rules(meta.get("allowed-tools", ""))
    description = meta.get("description") or _first_line(text)
    return CustomCommand(
        name=name,
        path=path,
        body=text.strip(),
        description=description,
        model=meta.get("model") or None,
        allowed_tools=rules,
        argument_hint=meta.get("argument-hint", ""),
        problems=problems,
    )


def _front_matter(block: str) -> dict[str, str]:
    """The ``key: value`` lines of a YAML front matter; lists (``[a, b]`` or ``- a`` lines) become ``a, b``."""
    meta: dict[str, str] = {}
    key = ""
    for raw in block.splitlines():
        line = raw.rstrip()
        if key and line.lstrip().startswith("- "):
            item = line.lstrip()[2:].strip().strip("\"'")
            meta[key] = f"{meta[key]}, {item}" if meta[key] else item
            continue
        if ":" not in line or line.startswith((" ", "#")):
            continue
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "allowed-tools" and value.startswith("[") and value.endswith("]"):
            value = ", ".join(v.strip().strip("\"'") for v in value[1:-1].split(",") if v.strip())
        meta[key] = value.strip("\"'")
    return meta


def _rules(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``Bash(git add:*), Edit`` -> ``bash(git add *)``, ``edit``; a rule that cannot be read is a problem."""
    rules: list[str] = []
    problems: list[str] = []
    for part in _split_rules(text):
        name, paren, rest = part.partition("(")
        rule_name = _RULE_NAMES.get(name.strip().lower(), name.strip())
        pattern = rest.removesuffix(")").replace(":*", " *") if paren else ""
        rule = f"{rule_name}({pattern})" if paren else rule_name
        try:
            check_rules([rule])
        except RuleError as exc:
            problems.append(str(exc))
            continue
        rules.append(rule)
    return tuple(rules), tuple(problems)


def _split_rules(text: str) -> list[str]:
    """Split on commas outside parentheses: ``Bash(a, b), Edit`` is two rules."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:80]
    return ""


# --------------------------------------------------------------------------- MCP prompts


@dataclass(frozen=True)
class McpPromptCommand:
    """An MCP server's prompt as ``/mcp__SERVER__PROMPT args`` (Claude Code's naming).

    Words fill the prompt's arguments in order; ``key=value`` names one. The messages the server
    returns become the prompt sent to the model.
    """

    name: str
    server: str
    prompt: str
    description: str
    parameters: tuple[str, ...]
    required: tuple[str, ...]
    hub: McpHub = field(repr=False, compare=False)
    model: str | None = None
    allowed_tools: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def argument_hint(self) -> str:
        return " ".join(p if p in self.required else f"[{p}]" for p in self.parameters)

    def expand(self, arguments: str) -> str:
        """Ask the server for the prompt; a ToolError (missing argument, server gone) says what went wrong."""
        from agentshell.tools.base import ToolError

        try:
            words = shlex.split(arguments)
        except ValueError:
            words = arguments.split()
        values: dict[str, str] = {}
        positional = [w for w in words if not _named(w, self.parameters)]
        for word in words:
            if _named(word, self.parameters):
                key, _, value = word.partition("=")
                values[key] = value
        free = [p for p in self.parameters if p not in values]
        for i, parameter in enumerate(free[: len(positional)]):
            last = i == len(free) - 1  # the last one takes the rest: /review src/a.py look for races
            values[parameter] = " ".join(positional[i:]) if last else positional[i]
        missing = [p for p in self.required if p not in values]
        if missing:
            usage = f"/{self.name} {self.argument_hint}".strip()
            raise ToolError(f"/{self.name} needs {', '.join(missing)}: {usage}")
        result = self.hub.get_prompt(self.server, self.prompt, values)
        return "\n\n".join(_message_text(m.content) for m in result.messages).strip()


def prompt_commands(hub: McpHub | None) -> dict[str, McpPromptCommand]:
    """The prompts of the servers that are up, by command name (without the slash)."""
    from agentshell.extensions.mcp_tools import tool_name

    found: dict[str, McpPromptCommand] = {}
    if hub is None:
        return found
    for state in hub.ready():
        for prompt in state.prompts:
            arguments = prompt.arguments or []
            name = tool_name(state.name, prompt.name)
            found.setdefault(
                name,
                McpPromptCommand(
                    name=name,
                    server=state.name,
                    prompt=prompt.name,
                    description=(prompt.description or prompt.title or f"prompt from {state.name}").strip(),
                    parameters=tuple(a.name for a in arguments),
                    required=tuple(a.name for a in arguments if a.required),
                    hub=hub,
                ),
            )
    return found


ExtensionCommand = CustomCommand | McpPromptCommand


def all_commands(
    workspace: Path, config_dir: Path, hub: McpHub | None, reserved: Collection[str] = ()
) -> dict[str, ExtensionCommand]:
    """Custom commands, then MCP prompts, by name; read afresh each time so a new file works at once."""
    found: dict[str, ExtensionCommand] = dict(load_commands(workspace, config_dir, reserved))
    for name, command in prompt_commands(hub).items():
        found.setdefault(name, command)
    return found


def _named(word: str, parameters: Sequence[str]) -> bool:
    key, eq, _ = word.partition("=")
    return bool(eq) and key in parameters


def _message_text(content: Any) -> str:
    from agentshell.extensions.mcp_tools import describe_block

    return describe_block(content)
