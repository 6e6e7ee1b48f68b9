"""The rewind journal: what a rewind in progress is doing, on disk before it touches the workspace.

``rewind.json`` in the shadow directory is written whole (temporary file, fsync, rename)
before the first operation and removed after the rewind is recorded in the timeline.
If it is there, a rewind was interrupted (SIGKILL, power cut, Ctrl-C): its operations
are idempotent, so ``agent rewind`` finishes it by applying them again, and
``agent rewind --rollback`` puts the paths it names back as they were just before it,
from the snapshot ``before`` taken at its start.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from agentshell.checkpoints.gitcmd import CheckpointError
from agentshell.checkpoints.restore import Op
from agentshell.durable import fsync_dir

JOURNAL_FORMAT = 1


@dataclass(frozen=True)
class Journal:
    to: str  # the checkpoint being restored
    before: str  # the workspace just before the rewind started
    session: str
    request: int
    outside: tuple[str, ...]  # changed outside the agent since the timeline's last snapshot
    ops: tuple[Op, ...]
    started: str

    def to_bytes(self) -> bytes:
        data = {
            "format": JOURNAL_FORMAT,
            "to": self.to,
            "before": self.before,
            "session": self.session,
            "request": self.request,
            "outside": list(self.outside),
            "ops": [op.to_json() for op in self.ops],
            "started": self.started,
            "pid": os.getpid(),
        }
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Journal:
        raw = json.loads(data)
        return cls(
            to=str(raw["to"]),
            before=str(raw["before"]),
            session=str(raw["session"]),
            request=int(raw["request"]),
            outside=tuple(str(p) for p in raw.get("outside", [])),
            ops=tuple(Op.from_json(op) for op in raw["ops"]),
            started=str(raw.get("started", "")),
        )


class JournalFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, journal: Journal) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, journal.to_bytes())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)

    def read(self) -> Journal | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return Journal.from_bytes(data)
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"the rewind journal {self.path} is damaged ({exc}); remove it by hand") from exc

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        fsync_dir(self.path.parent)
