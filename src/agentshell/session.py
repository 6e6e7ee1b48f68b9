"""Transcripts on disk: one JSONL file per session, written as the conversation happens.

File layout (``data_dir()/sessions/<id>.jsonl``, one JSON object per line)::

    {"type": "session", "format": 1, "id": ..., "workspace": ..., "created": ..., "agentshell": "0.1.0"}
    {"type": "message", "time": ..., "backend": "ollama", "model": "qwen3", "message": {...protocol.Message...}}
    {"type": "compaction", "time": ..., "messages": [...]}   # the live conversation from here on

Why this shape:

- Every line is written whole before ``append`` returns, and fsynced, so ``kill -9`` or a power
  cut loses at most the line being written. One exception, for speed: a user's request is
  fsynced together with the line after it (the model's answer), so the request reaches the
  model without waiting for the disk (benchmarks/repl_latency.py); ``kill -9`` still loses
  nothing, a power cut at most the request in flight. A torn last line is dropped on load (with a
  warning in :attr:`Session.warnings`) and cut off before the session is appended to again;
  a write that fails half-way (disk full) is cut off at once.
- Messages are ``protocol.Message``, which every backend reads, so a session started on
  one backend continues on another. Backend and model are recorded per message.
- An open session holds an exclusive ``flock`` on its file: two agents in the same
  workspace each get their own session and can never resume or write into one another's.
- Ids are ``YYYYMMDD-HHMMSS-mmm-xxxxxx`` (UTC, milliseconds, random): they sort by creation
  time, and the file is created with ``O_EXCL`` so two ids can never collide.
- Secrets are masked (:mod:`agentshell.redact`) before anything reaches the disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentshell.durable import fsync_dir
from agentshell.errors import EXIT_USAGE, UserError
from agentshell.protocol import Message
from agentshell.redact import redact_obj
from agentshell.transcript import Transcript, parse_time, read_header, read_transcript, scan_summary, title_of

try:  # POSIX; on Windows sessions work without the cross-process lock.
    import fcntl
except ImportError:  # pragma: no cover - exercised only on Windows
    fcntl = None  # type: ignore[assignment]

SESSION_FORMAT = 1
SUFFIX = ".jsonl"
UNFINISHED_TOOL_RESULT = "error: the agent stopped before this tool call finished; it may have run partly or not at all"


class SessionError(UserError):
    """Base of the session errors; ``str()`` is the one line shown to the user."""


class SessionNotFound(SessionError):
    """No session by that id, or one too damaged to read: the user named the wrong one."""

    exit_code = EXIT_USAGE


class SessionBusy(SessionError):
    """Another live agent holds the session open."""


class SessionWriteError(SessionError):
    """The transcript could not be written (disk full, permissions)."""


@dataclass(frozen=True)
class SessionSummary:
    id: str
    workspace: Path
    created: datetime
    updated: datetime
    messages: int
    title: str
    backend: str
    model: str


def new_session_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{now.microsecond // 1000:03d}-{secrets.token_hex(3)}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _dump_message(message: Message) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude_defaults=True)


def _is_locked(path: Path) -> bool:
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _lock(fd: int) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


# --------------------------------------------------------------------------- one open session


class Session:
    """An open, locked session. Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        *,
        id: str,
        path: Path,
        workspace: Path,
        fd: int,
        created: datetime,
        messages: list[Message] | None = None,
        warnings: list[str] | None = None,
        backend: str = "",
        model: str = "",
    ) -> None:
        self.id = id
        self.path = path
        self.workspace = workspace
        self.created = created
        self.messages: list[Message] = messages if messages is not None else []
        self.warnings: list[str] = warnings if warnings is not None else []
        self.backend = backend  # of the last message, so --continue can default to it
        self.model = model
        self._fd: int | None = fd
        self._appended = bool(self.messages)
        self._unsynced = False  # a line was written without fsync (a user's request): close() syncs it

    @property
    def closed(self) -> bool:
        return self._fd is None

    def append(self, message: Message, *, backend: str, model: str) -> None:
        """Record one message durably (one line, fsynced; a user's request with the next line) before returning."""
        self._write(
            {"type": "message", "time": _now(), "backend": backend, "model": model, "message": _dump_message(message)},
            sync=message.role != "user",
        )
        self.messages.append(message)
        self.backend, self.model = backend, model
        self._appended = True

    def record_compaction(self, messages: Sequence[Message]) -> None:
        """From now on (and on resume) the live conversation is ``messages``; the full history stays above."""
        self._write({"type": "compaction", "time": _now(), "messages": [_dump_message(m) for m in messages]})
        self.messages = list(messages)

    def record_checkpoint(self, checkpoint_id: str, request: int) -> None:
        """The workspace's files were checkpointed before request ``request`` (docs/checkpoints.md): an outer
        program reads the id here and passes it to ``agent rewind --to``. Readers skip the line like any unknown one."""
        self._write({"type": "checkpoint", "time": _now(), "id": checkpoint_id, "request": request})

    def close(self) -> None:
        """Release the lock. A session that never got a message leaves no file behind."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self._unsynced:
                with contextlib.suppress(OSError):
                    os.fsync(fd)
            if not self._appended:
                with contextlib.suppress(OSError):
                    self.path.unlink()
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, event: dict[str, Any], *, sync: bool = True) -> None:
        if self._fd is None:
            raise SessionWriteError(f"session {self.id} is closed")
        event = redact_obj(event)
        try:
            line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        except UnicodeEncodeError:  # lone surrogates (undecodable bytes from a tool): keep them as JSON escapes
            line = (json.dumps(event, separators=(",", ":")) + "\n").encode()
        _write_line(self._fd, line, self.path, sync=sync)
        self._unsynced = not sync  # a synced line makes every line before it durable too


def _write_line(fd: int, line: bytes, path: Path, *, sync: bool = True) -> None:
    start = os.lseek(fd, 0, os.SEEK_END)
    try:
        view = memoryview(line)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    except OSError as exc:
        # Leave no half line behind, so the next append starts on a clean line.
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
        raise SessionWriteError(f"cannot write the session transcript {path}: {exc.strerror or exc}") from exc


# --------------------------------------------------------------------------- the store


class SessionStore:
    def __init__(self, root: Path | None = None) -> None:
        if root is None:
            from agentshell.config import data_dir

            root = data_dir() / "sessions"
        self.root = root

    def _path(self, session_id: str) -> Path:
        return self.root / f"{session_id}{SUFFIX}"

    def _paths(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return iter(())
        return iter(sorted(self.root.glob(f"*{SUFFIX}")))

    def create(self, workspace: Path) -> Session:
        """A new session for ``workspace``, locked until closed."""
        workspace = workspace.resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise SessionWriteError(f"cannot create the sessions folder {self.root}: {exc.strerror or exc}") from exc
        while True:
            created = datetime.now(UTC)
            session_id = new_session_id(created)
            path = self._path(session_id)
            try:
                # Transcripts hold private code and conversation: owner-only.
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            except FileExistsError:
                continue
            except OSError as exc:
                raise SessionWriteError(f"cannot create a session file in {self.root}: {exc.strerror or exc}") from exc
            break
        _lock(fd)  # a brand-new file: nobody else can hold it yet
        from agentshell import __version__

        header = {
            "type": "session",
            "format": SESSION_FORMAT,
            "id": session_id,
            "workspace": str(workspace),
            "created": created.isoformat(timespec="milliseconds"),
            "agentshell": __version__,
        }
        session = Session(id=session_id, path=path, workspace=workspace, fd=fd, created=created)
        try:
            session._write(header)
            fsync_dir(self.root)
        except SessionError:
            session.close()
            raise
        return session

    def resolve_id(self, session_id: str) -> str:
        """The full id for a unique prefix."""
        session_id = session_id.strip()
        if not session_id or "/" in session_id or "\\" in session_id:
            raise SessionNotFound(f"no session {session_id!r} (see `agent sessions list`)")
        if self._path(session_id).is_file():
            return session_id
        matches = [p.name[: -len(SUFFIX)] for p in self._paths() if p.name.startswith(session_id)]
        if not matches:
            raise SessionNotFound(f"no session {session_id!r} (see `agent sessions list`)")
        if len(matches) > 1:
            shown = ", ".join(matches[:3]) + (", ..." if len(matches) > 3 else "")
            raise SessionNotFound(
                f"session id {session_id!r} is ambiguous: {len(matches)} sessions match ({shown}); give more characters"
            )
        return matches[0]

    def load(self, session_id: str) -> Session:
        """Open an existing session to continue it (takes its lock)."""
        full_id = self.resolve_id(session_id)
        path = self._path(full_id)
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError as exc:
            raise SessionNotFound(f"no session {session_id!r} (see `agent sessions list`)") from exc
        except OSError as exc:
            raise SessionNotFound(f"cannot open session {full_id}: {exc.strerror or exc}") from exc
        try:
            if not _lock(fd):
                raise SessionBusy(f"session {full_id} is in use by another running agent; start a new one instead")
            data = _read_all(fd)
            transcript = read_transcript(path, data)
            if transcript.header is None:
                raise SessionNotFound(
                    f"session {full_id} is damaged (no header line); remove it with `agent sessions rm {full_id}`"
                )
            if transcript.good_size < len(data):
                os.ftruncate(fd, transcript.good_size)  # the next line must not be glued to the torn one
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        header = transcript.header
        session = Session(
            id=full_id,
            path=path,
            workspace=Path(str(header.get("workspace", ""))),
            fd=fd,
            created=parse_time(header.get("created")),
            messages=transcript.messages,
            warnings=transcript.warnings,
            backend=transcript.backend,
            model=transcript.model,
        )
        try:
            _answer_unfinished_calls(session)
        except SessionError:
            session.close()
            raise
        return session

    def read(self, session_id: str) -> tuple[SessionSummary, list[Message], list[str]]:
        """Every message of a session, without locking it (for ``agent sessions show``)."""
        full_id = self.resolve_id(session_id)
        path = self._path(full_id)
        summary, transcript = self._summarize(path, full=True)
        if summary is None:
            raise SessionNotFound(f"session {full_id} is damaged (no header line)")
        return summary, transcript.all_messages, transcript.warnings

    def latest(self, workspace: Path) -> Session | None:
        """The most recently updated session of ``workspace`` that has messages and no live agent holds."""
        workspace = workspace.resolve()
        candidates = [s for s in self.list(workspace) if s.messages > 0]
        candidates.sort(key=lambda s: (s.updated, s.id), reverse=True)
        for summary in candidates:
            try:
                return self.load(summary.id)
            except (SessionBusy, SessionNotFound):
                continue  # taken or removed since we listed it
        return None

    def list(self, workspace: Path | None = None) -> list[SessionSummary]:
        """Summaries, oldest first; sessions held by a live agent are listed too."""
        wanted = workspace.resolve() if workspace is not None else None
        out = []
        for path in self._paths():
            summary, _ = self._summarize(path, wanted)
            if summary is not None:
                out.append(summary)
        return out

    def remove(self, session_id: str) -> None:
        full_id = self.resolve_id(session_id)
        path = self._path(full_id)
        if _is_locked(path):
            raise SessionBusy(f"session {full_id} is in use by another running agent; stop it first")
        try:
            path.unlink()
        except FileNotFoundError as exc:
            raise SessionNotFound(f"no session {session_id!r} (see `agent sessions list`)") from exc
        except OSError as exc:
            raise SessionWriteError(f"cannot remove session {full_id}: {exc.strerror or exc}") from exc

    def is_busy(self, session_id: str) -> bool:
        return _is_locked(self._path(self.resolve_id(session_id)))

    def _summarize(
        self, path: Path, wanted: Path | None = None, *, full: bool = False
    ) -> tuple[SessionSummary | None, Transcript]:
        """The summary of one file; None if it has no header or belongs to another workspace than ``wanted``.

        Listing must stay quick with hundreds of long sessions: the header line alone decides the
        workspace, and counting skips message validation unless ``full`` (for ``show``).
        """
        try:
            with path.open("rb") as f:
                first = f.readline()
                header = read_header(first)
                if header is None or (wanted is not None and Path(str(header.get("workspace", ""))) != wanted):
                    return None, Transcript()
                data = first + f.read()
            mtime = path.stat().st_mtime
        except OSError:
            return None, Transcript()
        if full:
            t = read_transcript(path, data)
            count, title, backend, model = len(t.all_messages), title_of(t.all_messages), t.backend, t.model
        else:
            t = Transcript(header=header)
            count, title, backend, model = scan_summary(data)
        summary = SessionSummary(
            id=path.name[: -len(SUFFIX)],
            workspace=Path(str(header.get("workspace", ""))),
            created=parse_time(header.get("created")),
            updated=datetime.fromtimestamp(mtime, UTC),
            messages=count,
            title=title,
            backend=backend,
            model=model,
        )
        return summary, t


def _answer_unfinished_calls(session: Session) -> None:
    """Give every tool call of the last assistant message a result, if the agent died before writing it.

    Every backend rejects (or is confused by) a tool call without its result, so a session killed
    in the middle of a tool run would otherwise not continue. The answers go to disk, so the file
    itself stays consistent and later resumes see the same conversation.
    """
    messages = session.messages
    last = len(messages) - 1
    while last >= 0 and messages[last].role == "tool":
        last -= 1
    if last < 0 or not messages[last].tool_calls:
        return
    answered = {m.tool_call_id for m in messages[last + 1 :]}
    missing = [c for c in messages[last].tool_calls if c.id not in answered]
    for call in missing:
        result = Message(
            role="tool", content=UNFINISHED_TOOL_RESULT, tool_call_id=call.id, name=call.name, interrupted=True
        )
        session.append(result, backend=session.backend, model=session.model)
    if missing:
        session.warnings.append(
            f"answered {len(missing)} tool call{'s' if len(missing) > 1 else ''} left unfinished when the agent stopped"
        )


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)
