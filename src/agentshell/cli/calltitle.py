"""One line that says what a tool call does, as a person would: ``$ make``, ``read a.py``, ``grep "x" in src``.

Shared by the REPL's tool views (cli/toolview.py) and the one-line activity of scripted runs on stderr
(cli/scripting.py), so it imports nothing heavy.
"""

from __future__ import annotations

import json
from typing import Any

from agentshell.cli.safe_text import one_line
from agentshell.protocol import ToolCallRequest

HEADER_CHARS = 160  # a header is one line; the full arguments are in the transcript


def _string(arguments: dict[str, Any], key: str) -> str | None:
    value = arguments.get(key)
    return value if isinstance(value, str) else None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def call_title(call: ToolCallRequest, limit: int = HEADER_CHARS) -> str:
    """What the call does, as a person would say it: ``$ make``, ``read a.py``, ``grep "x" in src``."""
    a = call.arguments
    path = _string(a, "path")
    pattern = _string(a, "pattern")
    command = _string(a, "command")
    if call.name == "bash" and command is not None:
        title = f"$ {command}"
    elif call.name in ("read_file", "write_file", "edit_file", "list_dir") and path is not None:
        verb = {"read_file": "read", "write_file": "write", "edit_file": "edit", "list_dir": "list"}[call.name]
        title = f"{verb} {path}"
        offset, count = a.get("offset"), a.get("limit")
        if call.name == "read_file" and isinstance(offset, int):
            title += f" from line {offset}" + (f" ({count} lines)" if isinstance(count, int) else "")
    elif call.name in ("grep", "glob") and pattern is not None:
        title = f"{call.name} {json.dumps(pattern, ensure_ascii=False)} in {path or '.'}"
        include = _string(a, "include")
        if include:
            title += f" ({include})"
    else:  # MCP and third-party tools: name and short values, never a JSON blob
        shown = ", ".join(f"{k}={_clip(json.dumps(v, ensure_ascii=False), 40)}" for k, v in a.items())
        title = f"{call.name} {shown}".strip()
    return _clip(one_line(title), limit)
