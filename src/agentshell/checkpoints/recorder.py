"""Taking checkpoints as the agent works: what the front ends hold (see docs/checkpoints.md).

The front end calls :meth:`Checkpointer.begin_request` before each request and runs the
loop's tools through :meth:`Checkpointer.guard`. Around every tool call that may change
files (any tool whose kind is not "read"), the guard snapshots the workspace before
and after: the first snapshot of a request is the request's checkpoint, and the
difference of each pair is what that call changed. Anything that changed between
snapshots (the user's editor, a build in another terminal) is recorded as changed
outside the agent, which a rewind will not overwrite without being forced.

Checkpoints never stop the agent: without git, in a workspace too large, or on any
failure, one warning says so and the session goes on without them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from agentshell.checkpoints.gitcmd import CheckpointError
from agentshell.checkpoints.manifest import Skipped
from agentshell.checkpoints.shadow import Limits, Snapshot
from agentshell.checkpoints.store import CheckpointStore
from agentshell.checkpoints.timeline import Record
from agentshell.protocol import ToolSpec

R_co = TypeVar("R_co", covariant=True)
PROMPT_CHARS = 80
SHOWN_SKIPPED = 3
DISK_CHECK_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Checkpoint:
    """Announced to listeners (the session file, stream-json) when a request's checkpoint is taken."""

    id: str
    session: str
    request: int


def prompt_line(text: str) -> str:
    """The first line of a prompt, with credentials masked and shortened, as the timeline keeps it."""
    from agentshell.redact import redact

    line = redact(text.strip().splitlines()[0] if text.strip() else "")
    return line if len(line) <= PROMPT_CHARS else line[: PROMPT_CHARS - 1] + "…"


class Executor(Protocol[R_co]):
    """The loop's ToolExecutor (``agentshell.loop.ports``), restated so this package needs nothing of the loop."""

    def specs(self) -> list[ToolSpec]: ...
    def execute(self, name: str, arguments: dict[str, Any]) -> R_co: ...


class Checkpointer:
    def __init__(self, store: CheckpointStore | None, notice: Callable[[str], None]) -> None:
        self.store = store
        self.notice = notice
        self.listeners: list[Callable[[Checkpoint], None]] = []
        self.session = ""
        self.request = 0
        self.messages = 0
        self._checkpoint: str | None = None  # of the current request, once taken
        self._outside: tuple[str, ...] = ()
        self._numbers: dict[str, int] = {}
        self._reported: set[str] = set()

    @classmethod
    def open(
        cls,
        workspace: Path,
        notice: Callable[[str], None],
        *,
        data_root: Path | None = None,
        limits: Limits | None = None,
        prune: bool = True,
    ) -> Checkpointer:
        """Checkpoints for ``workspace``; disabled (with one notice) when they cannot work here."""
        try:
            store = CheckpointStore.open(workspace, data_root, limits)
        except CheckpointError as exc:
            notice(f"warning: {exc}")
            return cls(None, notice)
        except OSError as exc:
            notice(f"warning: file checkpoints are off: {exc.strerror or exc}")
            return cls(None, notice)
        checkpointer = cls(store, notice)
        checkpointer._start(prune)
        return checkpointer

    @property
    def enabled(self) -> bool:
        return self.store is not None

    def _start(self, prune: bool) -> None:
        assert self.store is not None
        try:
            if self.store.journal.read() is not None:
                self.notice(
                    "warning: a rewind in this directory was interrupted: "
                    "run `agent rewind` to finish it or `agent rewind --rollback` to undo it"
                )
            elif prune:
                from agentshell.checkpoints.prune import needs_pruning
                from agentshell.checkpoints.prune import prune as cut

                # The age of the oldest record is one line to read; the disk use costs a git call, so once a day.
                stamp = self.store.repo.dir / "disk-checked"
                disk = not stamp.exists() or time.time() - stamp.stat().st_mtime > DISK_CHECK_SECONDS
                if disk:
                    stamp.touch()
                if needs_pruning(self.store, disk=disk):
                    cut(self.store)
        except (CheckpointError, OSError) as exc:
            self._disable(exc)

    # ------------------------------------------------------------------ requests and tool calls

    def begin_request(self, session: str, prompt: str, messages: int = 0) -> int:
        """A new user request in ``session``; returns its number (1 for a session's first)."""
        self.session, self.messages = session, messages
        self._checkpoint, self._outside = None, ()
        if self.store is None:
            return 0
        try:
            if session not in self._numbers:
                self._numbers[session] = max(
                    (r.request for r in self.store.timeline.records() if r.session == session), default=0
                )
            self._numbers[session] += 1
            self.request = self._numbers[session]
            shown = prompt_line(prompt)
            with self.store.repo.locked():
                record = Record("request", session, self.request, prompt=shown, messages=messages)
                self.store.timeline.append(record, sync=False)
        except (CheckpointError, OSError) as exc:
            self._disable(exc)
        return self.request

    def guard(self, executor: Executor[R_co]) -> Executor[R_co]:
        """``executor`` with a checkpoint around each call that may change files."""
        return GuardedExecutor(executor, self) if self.store is not None else executor

    def before_call(self, tool: str) -> Snapshot | None:
        if self.store is None or not self.session:
            return None
        announce: Checkpoint | None = None
        try:
            with self.store.repo.locked():
                snap = self.store.repo.snapshot(self.session, f"before {tool}, request {self.request}")
                outside = self._outside_since_last(snap)
                if self._checkpoint is None:
                    self._checkpoint = snap.commit
                    self.store.timeline.append(
                        Record("checkpoint", self.session, self.request, before=snap.commit, outside=outside)
                    )
                    self._outside = ()
                    announce = Checkpoint(snap.commit, self.session, self.request)
                else:
                    self._outside = outside
        except (CheckpointError, OSError) as exc:
            self._disable(exc)
            return None
        self._report_skipped(snap.manifest.skipped)
        if announce is not None:
            self._announce(announce)
        return snap

    def after_call(self, tool: str, before: Snapshot) -> None:
        if self.store is None:
            return
        try:
            with self.store.repo.locked():
                snap = self.store.repo.snapshot(self.session, f"after {tool}, request {self.request}")
                changed = self.store.repo.changed(before, snap)
                if changed or self._outside:
                    self.store.timeline.append(
                        Record(
                            "call",
                            self.session,
                            self.request,
                            before=before.commit,
                            after=snap.commit,
                            changed=tuple(sorted(changed)),
                            outside=self._outside,
                            tool=tool,
                        )
                    )
                self._outside = ()
        except (CheckpointError, OSError) as exc:
            self._disable(exc)
            return
        self._report_skipped(snap.manifest.skipped)

    def _outside_since_last(self, snap: Snapshot) -> tuple[str, ...]:
        assert self.store is not None
        last = self.store.timeline.last_snapshot()
        if last is None or last == snap.commit:
            return ()
        try:
            previous = self.store.repo.load(last)
        except CheckpointError:
            return ()
        return tuple(sorted(self.store.repo.changed(previous, snap)))

    def _announce(self, checkpoint: Checkpoint) -> None:
        for listener in list(self.listeners):
            try:
                listener(checkpoint)
            except Exception as exc:  # a listener's failure (a full disk) must not end the turn
                self.notice(f"warning: checkpoint {checkpoint.id[:12]} was not recorded everywhere: {exc}")

    def _report_skipped(self, skipped: dict[str, Skipped]) -> None:
        new = [(p, s) for p, s in sorted(skipped.items()) if p not in self._reported]
        if not new:
            return
        self._reported.update(p for p, _ in new)
        shown = "; ".join(f"{p}: {s.reason}" for p, s in new[:SHOWN_SKIPPED])
        more = f" and {len(new) - SHOWN_SKIPPED} more" if len(new) > SHOWN_SKIPPED else ""
        self.notice(f"checkpoint: not captured (a rewind cannot restore these): {shown}{more}")

    def _disable(self, exc: BaseException) -> None:
        if self.store is not None:
            reason = str(exc) if isinstance(exc, CheckpointError) else (getattr(exc, "strerror", None) or str(exc))
            self.notice(f"warning: file checkpoints are off for the rest of this session: {reason}")
        self.store = None


class GuardedExecutor(Executor[R_co]):
    """A ToolExecutor that checkpoints around the calls that may change files."""

    def __init__(self, inner: Executor[R_co], checkpointer: Checkpointer) -> None:
        self.inner = inner
        self.checkpointer = checkpointer

    def specs(self) -> list[ToolSpec]:
        return self.inner.specs()

    def execute(self, name: str, arguments: dict[str, Any]) -> R_co:
        if not self._may_change(name):
            return self.inner.execute(name, arguments)
        before = self.checkpointer.before_call(name)
        try:
            return self.inner.execute(name, arguments)
        finally:
            if before is not None:
                self.checkpointer.after_call(name, before)

    def _may_change(self, name: str) -> bool:
        """Every tool but those of kind "read"; a name the runner does not know runs nothing."""
        tools = getattr(self.inner, "tools", None)
        if not isinstance(tools, dict):
            return True
        tool = tools.get(name)
        return tool is not None and getattr(tool, "kind", "execute") != "read"
