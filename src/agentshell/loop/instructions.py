"""The system prompt: a short base for a coding agent, then the project's own instructions.

Project instructions are ``AGENTS.md`` (the cross-tool convention) and ``CLAUDE.md`` (read too,
so projects written for Claude Code work unchanged) at the workspace root. They are capped:
the prompt is sent with every request, and small local models have small windows.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from pathlib import Path

from agentshell.protocol import ToolSpec

INSTRUCTION_FILES = ("AGENTS.md", "CLAUDE.md")
MAX_INSTRUCTION_CHARS = 12_000  # for all instruction files together

BASE_PROMPT = """\
You are agentshell, a coding agent in a terminal. You work in the workspace {workspace} ({system}).
- Look before you answer: read files and run commands with your tools instead of guessing what the code says.
- Change files with the edit tools rather than printing code for the user to paste, unless asked to.
- Stay inside the workspace; make small, targeted changes and check them (run the tests when there are some).
- A denied or failed tool call is information: adapt, do not repeat it unchanged.
- Be concise. Say what you did and what is left; no filler."""


def _tools_line(tools: Sequence[ToolSpec]) -> str:
    if not tools:
        return "You have no tools in this session: answer from the conversation alone."
    return "Your tools: " + ", ".join(t.name for t in tools) + "."


def project_instructions(workspace: Path, *, max_chars: int = MAX_INSTRUCTION_CHARS) -> list[tuple[str, str]]:
    """(file name, text) of each instruction file found, within the shared cap; unreadable files are skipped."""
    found: list[tuple[str, str]] = []
    seen: set[Path] = set()
    budget = max_chars
    for name in INSTRUCTION_FILES:
        path = workspace / name
        try:
            if not path.is_file() or path.resolve() in seen:
                continue  # CLAUDE.md is often a symlink to AGENTS.md: include it once
            seen.add(path.resolve())
            with path.open("rb") as f:
                raw = f.read(budget * 4 + 4)  # enough bytes for `budget` characters of any UTF-8
        except OSError:
            continue
        text = raw.decode("utf-8", errors="replace").strip()
        if not text or any(text == t for _, t in found):
            continue
        if len(text) > budget or len(raw) > budget * 4:
            text = text[:budget].rstrip() + f"\n[… {name} was cut here: instruction files are limited to "
            text += f"{max_chars:,} characters in all …]"
        found.append((name, text))
        budget -= len(text)
        if budget <= 0:
            break
    return found


def system_prompt(workspace: Path, tools: Sequence[ToolSpec]) -> str:
    parts = [BASE_PROMPT.format(workspace=workspace, system=platform.system() or "unknown OS"), _tools_line(tools)]
    for name, text in project_instructions(workspace):
        parts.append(f"# Project instructions from {name}\n\n{text}")
    return "\n\n".join(parts)
