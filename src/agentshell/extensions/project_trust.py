"""A repository must not start programs on a user's machine by itself: project servers and hooks wait for a yes.

A project can declare MCP servers (``.mcp.json``) and hooks (``.agentshell/config.toml``,
``.claude/settings.json``). None of them runs until the user has approved that project once,
interactively. The approval is kept in the data directory, keyed by the project's path and a
hash of those files' contents, so a pull that changes a command asks again. A run that cannot ask
(``-p``, stdin) never starts unapproved ones and says so once. See docs/extensions.md#projects.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

PROJECT_FILES = (".mcp.json", ".agentshell/config.toml", ".claude/settings.json")
STORE_NAME = "trusted-projects.json"


def fingerprint(workspace: Path) -> str | None:
    """A hash of the project files that can start programs; None when the project has none."""
    digest = hashlib.sha256()
    found = False
    for name in PROJECT_FILES:
        path = workspace / name
        try:
            data = path.read_bytes() if path.is_file() else None
        except OSError:
            data = None
        if data is not None:
            found = True
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest() if found else None


class ProjectTrust:
    """The approvals, one JSON file: ``{"/abs/project": "sha256 of its files"}``."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STORE_NAME

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}

    def is_trusted(self, workspace: Path, digest: str) -> bool:
        return self._load().get(str(workspace.resolve())) == digest

    def trust(self, workspace: Path, digest: str) -> None:
        """Remember the approval; written atomically so two agents starting at once cannot corrupt the file."""
        approvals = self._load()
        approvals[str(workspace.resolve())] = digest
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".trusted-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(approvals, out, indent=2, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def forget(self, workspace: Path) -> bool:
        approvals = self._load()
        if approvals.pop(str(workspace.resolve()), None) is None:
            return False
        self.path.write_text(json.dumps(approvals, indent=2, sort_keys=True), encoding="utf-8")
        return True
