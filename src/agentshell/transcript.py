"""Reading session files back: the whole transcript (to resume or show) or a quick summary (to list).

Reading never takes the session's lock and never writes: it must work on a file another agent
is appending to, and on one a crash left with a torn last line (dropped here, with a warning).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

from pydantic import ValidationError

from agentshell.protocol import Message, Role

TITLE_LENGTH = 60
_ROLES = frozenset(get_args(Role))


def parse_time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def title_of(messages: Sequence[Message]) -> str:
    for m in messages:
        if m.role == "user" and m.content.strip():
            line = m.content.strip().splitlines()[0]
            return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"
    return ""


@dataclass
class Transcript:
    """What a session file says, read without taking its lock."""

    header: dict[str, Any] | None = None
    messages: list[Message] = field(default_factory=list)  # live conversation
    all_messages: list[Message] = field(default_factory=list)  # every message ever appended
    warnings: list[str] = field(default_factory=list)
    good_size: int = 0  # bytes up to the end of the last complete line
    backend: str = ""
    model: str = ""


def read_transcript(path: Path, data: bytes) -> Transcript:
    """Every event of the file; bad lines are skipped with a warning, never fatal."""
    t = Transcript()
    end = data.rfind(b"\n") + 1
    t.good_size = end
    if end < len(data):
        t.warnings.append(
            f"dropped a torn last line ({len(data) - end} bytes) of {path.name}: the agent was stopped while writing it"
        )
    for number, raw in enumerate(data[:end].split(b"\n")[:-1], start=1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
            if not isinstance(event, dict):
                raise ValueError("not an object")
            kind = event.get("type")
            if kind == "session" and t.header is None:
                t.header = event
            elif kind == "message":
                message = Message.model_validate(event["message"])
                t.messages.append(message)
                t.all_messages.append(message)
                t.backend = str(event.get("backend", t.backend))
                t.model = str(event.get("model", t.model))
            elif kind == "compaction":
                t.messages = [Message.model_validate(m) for m in event["messages"]]
            # Unknown event types come from newer versions: skip them quietly.
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            t.warnings.append(f"skipped unreadable line {number} of {path.name}: {str(exc).splitlines()[0]}")
    return t


def read_header(line: bytes) -> dict[str, Any] | None:
    """The header event from a file's first line, or None if that line is not one."""
    if not line.endswith(b"\n"):
        return None  # torn or missing: the session never really started
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and event.get("type") == "session" else None


def scan_summary(data: bytes) -> tuple[int, str, str, str]:
    """(messages, title, last backend, last model) without validating every message."""
    count, title, backend, model = 0, "", "", ""
    for raw in data[: data.rfind(b"\n") + 1].split(b"\n"):
        try:
            event = json.loads(raw) if raw.strip() else None
            if not isinstance(event, dict) or event.get("type") != "message":
                continue
            message = event["message"]
            role, content = message["role"], message.get("content", "")
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        if role not in _ROLES:
            continue  # the same lines read_transcript would skip
        count += 1
        backend, model = str(event.get("backend", backend)), str(event.get("model", model))
        if not title and role == "user" and isinstance(content, str) and content.strip():
            title = title_of([Message(role="user", content=content)])
    return count, title, backend, model
