"""A project's own hooks: ``.agentshell/config.toml`` (``[[hooks.EVENT]]``) and ``.claude/settings.json``.

Both only after the user has approved the project (extensions/project_trust.py). The Claude Code
file is read for its ``hooks`` alone, in its own shape
(``{"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": ...}]}]}``);
its other settings are not agentshell's. A broken file is reported, never fatal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agentshell.extensions.settings import HOOK_EVENTS, HookConfig, HookEvent

AGENTSHELL_FILE = ".agentshell/config.toml"
CLAUDE_FILE = ".claude/settings.json"

Hooks = dict[HookEvent, list[HookConfig]]


def read_project_hooks(workspace: Path) -> tuple[Hooks, list[str]]:
    """The project's hooks, from both files, and one line for each thing that was wrong."""
    hooks: Hooks = {}
    problems: list[str] = []
    own = workspace / AGENTSHELL_FILE
    if own.is_file():
        import tomllib  # only when the project has the file: most have none

        try:
            data = tomllib.loads(own.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{own}: cannot read it ({exc}); its hooks do not run")
        else:
            unknown = sorted(set(data) - {"hooks"})
            if unknown:
                problems.append(f"{own}: only [[hooks.EVENT]] tables belong here; ignored: {', '.join(unknown)}")
            _add(hooks, data.get("hooks", {}), own, problems, claude=False)
    claude = workspace / CLAUDE_FILE
    if claude.is_file():
        try:
            data = json.loads(claude.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(f"{claude}: cannot read it ({exc}); its hooks do not run")
        else:
            _add(hooks, data.get("hooks", {}) if isinstance(data, dict) else {}, claude, problems, claude=True)
    return hooks, problems


def _add(hooks: Hooks, table: Any, path: Path, problems: list[str], *, claude: bool) -> None:
    if not isinstance(table, dict):
        problems.append(f"{path}: hooks must be a table of events; ignored")
        return
    for event, entries in table.items():
        if event not in HOOK_EVENTS:
            problems.append(f"{path}: unknown hook event {event!r} (known: {', '.join(HOOK_EVENTS)}); ignored")
            continue
        if not isinstance(entries, list):
            problems.append(f"{path}: hooks.{event} must be a list; ignored")
            continue
        for entry in entries:
            for raw in _flatten_claude(entry) if claude else [entry]:
                try:
                    hooks.setdefault(event, []).append(HookConfig.model_validate(raw))
                except ValidationError as exc:
                    first = exc.errors(include_url=False, include_input=False)[0]
                    problems.append(f"{path}: a {event} hook is skipped: {first['msg']}")


def _flatten_claude(entry: Any) -> list[Any]:
    """``{"matcher": M, "hooks": [{"type": "command", "command": C, "timeout": T}]}`` -> our flat entries."""
    if not isinstance(entry, dict):
        return [entry]
    matcher = entry.get("matcher", "")
    flat = []
    for hook in entry.get("hooks", []) if isinstance(entry.get("hooks"), list) else []:
        if isinstance(hook, dict) and hook.get("type", "command") == "command":
            flat.append({"matcher": matcher, **{k: v for k, v in hook.items() if k in ("command", "timeout")}})
    return flat
