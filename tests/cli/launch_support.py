"""Helpers shared by the agent CLI tests: write a scripted conversation, run ``agent`` as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
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


MARKER = "60.0417"  # an unusual sleep duration, so /proc can tell the tests' sleep from any other


def sleeping_pids() -> list[int]:
    """Processes running ``sleep MARKER``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[:2] == [b"sleep", MARKER.encode()]:
            pids.append(int(entry.name))
    return pids


def process_gone(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().split(") ")[1].startswith("Z")
    except (OSError, IndexError):
        return True


def sigint_default() -> None:
    """preexec_fn for children the tests send Ctrl-C to: a shell starts background jobs with SIGINT
    ignored, Python then never raises KeyboardInterrupt, and CI started with ``&`` would fail these tests."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for(condition: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
