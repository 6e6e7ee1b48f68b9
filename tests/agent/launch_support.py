"""Helpers shared by the agent CLI tests: write a scripted conversation, run ``agent`` as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def call(name: str, cid: str = "c1", **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": cid, "name": name, "arguments": arguments}


def write_script(directory: Path, responses: list[list[dict[str, Any]]], name: str = "script.json") -> str:
    """The model string for a scripted conversation saved under ``directory``."""
    path = directory / name
    path.write_text(json.dumps(responses), encoding="utf-8")
    return f"scripted:{path}"


def agent_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentshell", *args]


def run_agent(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``agent ARGS`` in ``cwd``; stdin is empty (not a terminal) unless given."""
    return subprocess.run(
        agent_command(*args),
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100"},
        check=False,
    )
