"""The workspace's timeline: every request, checkpoint, tool change and rewind, in the order they happened.

One JSON object per line in ``timeline.jsonl`` beside the shadow repository, appended
and fsynced under the shadow's lock. Every agent in the workspace, in any session,
writes to the same timeline, so a rewind undoes what every session's agent did since
the chosen point, and only that. Record kinds::

    request     a user request began (every request, so numbers match the conversation)
    checkpoint  the state before the first call of a request that may change files
    call        one tool call: its snapshots before and after, the paths it changed
    rewind      a rewind (or an undo): the state before it, after it, the paths it wrote

``outside`` on a record lists the paths that changed since the previous snapshot in the
timeline, before this record's own ``before``: edits by the user, or anything else not
made through the agent's tools. A rewind refuses to overwrite those (docs/checkpoints.md).
A torn last line (the agent was killed while writing it) is ignored on reading.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

RecordKind = Literal["request", "checkpoint", "call", "rewind"]
_TAIL = 1 << 16


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Record:
    kind: RecordKind
    session: str
    request: int
    time: str = field(default_factory=now)
    before: str | None = None  # the snapshot this record starts from: the id to rewind to
    after: str | None = None
    changed: tuple[str, ...] = ()  # paths the agent (or the rewind) changed between before and after
    outside: tuple[str, ...] = ()  # paths changed outside the agent since the previous snapshot
    tool: str = ""  # call: the tool's name
    prompt: str = ""  # request: its first line
    messages: int = 0  # request: live conversation length before it, to rewind the conversation
    to: str | None = None  # rewind: the checkpoint it restored

    def to_json(self) -> str:
        data: dict[str, Any] = {"kind": self.kind, "session": self.session, "request": self.request, "time": self.time}
        for name in ("before", "after", "changed", "outside", "tool", "prompt", "messages", "to"):
            value = getattr(self, name)
            if value:
                data[name] = list(value) if isinstance(value, tuple) else value
        return json.dumps(data, separators=(",", ":"))  # ASCII: undecodable file names stay as \\udcXX escapes

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("changed", "outside"):
            values[name] = tuple(str(p) for p in values.get(name, ()))
        return cls(**values)

    @property
    def snapshot(self) -> str | None:
        """The latest state this record knows of."""
        return self.after or self.before


class Timeline:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: Record, *, sync: bool = True) -> None:
        """One whole line, fsynced before returning unless ``sync`` is False (a request line: the next record's
        fsync carries it, and losing it in a crash only shifts request numbers); call under the shadow's lock."""
        line = (record.to_json() + "\n").encode()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            end = os.lseek(fd, 0, os.SEEK_END)
            if end and os.pread(fd, 1, end - 1) != b"\n":  # a torn line from a killed writer: start a new one
                line = b"\n" + line
            os.write(fd, line)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> list[Record]:
        return list(self._read())

    def _read(self) -> Iterator[Record]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            with contextlib.suppress(ValueError, TypeError, KeyError):
                value = json.loads(raw)
                if isinstance(value, dict):
                    yield Record.from_json(value)

    def first(self) -> Record | None:
        """The oldest record, read without reading the rest (pruning checks it at every start)."""
        try:
            with open(self.path, "rb") as f:
                for raw in f:
                    with contextlib.suppress(ValueError, TypeError, KeyError):
                        value = json.loads(raw) if raw.strip() else None
                        if isinstance(value, dict):
                            return Record.from_json(value)
        except FileNotFoundError:
            pass
        return None

    def last_snapshot(self) -> str | None:
        """The newest snapshot any record holds: the reference point for "changed outside the agent".

        Read from the file's tail, so taking a checkpoint does not cost more as the timeline grows.
        """
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - _TAIL))
                tail = f.read()
        except FileNotFoundError:
            return None
        lines = tail.split(b"\n")
        if size > _TAIL:
            lines = lines[1:]  # the first one is cut
        for raw in reversed(lines):
            with contextlib.suppress(ValueError, TypeError, KeyError):
                value = json.loads(raw) if raw.strip() else None
                if isinstance(value, dict) and (value.get("after") or value.get("before")):
                    return str(value.get("after") or value.get("before"))
        if size > _TAIL:
            return next((r.snapshot for r in reversed(self.records()) if r.snapshot), None)
        return None

    def rewrite(self, records: Iterable[Record]) -> None:
        """Replace the whole timeline (pruning); atomic."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            for record in records:
                f.write((record.to_json() + "\n").encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def sessions_in(records: Iterable[Record]) -> list[str]:
    """Session ids in the order of their first record."""
    return list(dict.fromkeys(r.session for r in records))
