"""Path confinement: where a path a model wrote really points, and whether that is inside the workspace.

Every path is judged by its *resolved* form (``..`` collapsed, every symlink
followed, also in parent directories), never by how it was spelled: ``src/link``
that points at ``/etc`` is outside, ``../ws/a.py`` that comes back in is inside.
"""

from __future__ import annotations

import os
from pathlib import Path


class WorkspaceGuard:
    def __init__(self, workspace: Path) -> None:
        self.root = Path(os.path.realpath(Path(workspace).expanduser()))

    def resolve(self, raw: str | os.PathLike[str]) -> Path:
        """The real location ``raw`` names, relative paths taken from the workspace root."""
        text = os.fspath(raw)
        if "\x00" in text:
            raise ValueError("path contains a NUL byte")
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.root / path
        return Path(os.path.realpath(path))

    def contains(self, resolved: Path) -> bool:
        return resolved == self.root or self.root in resolved.parents

    def relative(self, resolved: Path) -> str:
        """The rule subject for a path: workspace-relative POSIX text inside, absolute outside."""
        if not self.contains(resolved):
            return resolved.as_posix()
        rel = resolved.relative_to(self.root).as_posix()
        return rel or "."

    def in_git_dir(self, resolved: Path) -> bool:
        """True for anything under a ``.git`` directory (hooks there run code, so writes need approval)."""
        parts = resolved.relative_to(self.root).parts if self.contains(resolved) else resolved.parts
        return any(part.casefold() == ".git" for part in parts)  # .GIT is the same directory on macOS

    def display(self, resolved: Path, limit: int = 300) -> str:
        """How to show a path to the user and the model: relative inside, absolute outside, never huge."""
        text = self.relative(resolved)
        return text if len(text) <= limit else text[: limit // 2] + "…" + text[-limit // 2 :]
