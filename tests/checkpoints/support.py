"""Helpers for the checkpoint tests: a workspace, its checkpointer, and agent calls simulated around real changes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from agentshell.checkpoints.recorder import Checkpointer
from agentshell.checkpoints.shadow import Limits
from agentshell.checkpoints.store import CheckpointStore


def open_checkpointer(
    workspace: Path, data: Path, notes: list[str] | None = None, *, prune: bool = True, **limits: float
) -> Checkpointer:
    sink = notes if notes is not None else []
    return Checkpointer.open(workspace, sink.append, data_root=data, limits=Limits(**limits), prune=prune)  # type: ignore[arg-type]


def agent_call(checkpointer: Checkpointer, change: Callable[[], object], tool: str = "bash") -> None:
    """What the guarded executor does around one tool call, with ``change`` as the tool."""
    before = checkpointer.before_call(tool)
    assert before is not None
    try:
        change()
    finally:
        checkpointer.after_call(tool, before)


def store_of(checkpointer: Checkpointer) -> CheckpointStore:
    assert checkpointer.store is not None
    return checkpointer.store


def tree_digest(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (not following symlinks) -> a digest of its type, mode and bytes."""
    out: dict[str, str] = {}
    for directory, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(directory) / name
            st = path.lstat()
            if path.is_symlink():
                body = f"link:{os.readlink(path)}".encode()
            elif path.is_dir():
                body = b"dir"
            else:
                body = path.read_bytes()
            out[str(path.relative_to(root))] = f"{st.st_mode:o}:{hashlib.sha256(body).hexdigest()}"
    return out
