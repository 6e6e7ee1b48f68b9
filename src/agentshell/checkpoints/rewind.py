"""Rewinding: choose a point in the timeline, undo what the agent changed since, refuse to overwrite the user's edits.

Rewinding to a record undoes every change recorded from it on (by the agent of any
session in this workspace, and by earlier rewinds): the paths in those records'
``changed`` get their content at the record's ``before`` snapshot. Nothing else is
touched. A path that also changed outside the agent after that point (``outside`` of
a later record, or since the last snapshot) is a conflict: the rewind is refused with
the list unless forced. The state before the rewind is itself a checkpoint, recorded
with the rewind, so every rewind can be undone (docs/checkpoints.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from agentshell.checkpoints.gitcmd import CheckpointError
from agentshell.checkpoints.journal import Journal
from agentshell.checkpoints.restore import Plan, WorkspaceWriter, make_plan
from agentshell.checkpoints.shadow import Snapshot
from agentshell.checkpoints.store import CheckpointStore
from agentshell.checkpoints.timeline import Record, now
from agentshell.errors import EXIT_USAGE


class RewindTargetError(CheckpointError):
    """No such session, request or checkpoint to rewind to."""

    exit_code = EXIT_USAGE


class RewindPending(CheckpointError):
    """An interrupted rewind must be finished or rolled back first."""


@dataclass(frozen=True)
class HistoryEntry:
    """One line of ``/rewind`` or ``agent rewind --list``: a request, or a rewind that can itself be undone."""

    kind: Literal["request", "rewind"]
    session: str
    request: int
    prompt: str
    time: str
    checkpoint: str | None  # the id to rewind to; None when no file changed from here on
    index: int | None  # the timeline record a rewind to this entry restores
    files: tuple[str, ...]  # what this request (or this rewind) changed
    messages: int  # the live conversation's length before the request


@dataclass
class RewindReport:
    session: str
    request: int
    checkpoint: str
    dry_run: bool = False
    applied: bool = False
    restored: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    not_restored: dict[str, str] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    undo: str | None = None  # rewinding to this id undoes the rewind
    action: Literal["rewind", "finish", "rollback"] = "rewind"

    @property
    def refused(self) -> bool:
        return bool(self.conflicts) and not self.applied


class RewindRefused(CheckpointError):
    """Files changed outside the agent after the checkpoint; ``report.conflicts`` lists them."""

    def __init__(self, report: RewindReport) -> None:
        shown = ", ".join(report.conflicts[:5]) + (", ..." if len(report.conflicts) > 5 else "")
        super().__init__(
            f"not rewound: {len(report.conflicts)} file(s) changed outside the agent after the checkpoint "
            f"({shown}); --force overwrites them"
        )
        self.report = report


# --------------------------------------------------------------------------- history and targets


def history(records: Sequence[Record], session: str) -> list[HistoryEntry]:
    """The session's requests and rewinds, oldest first."""
    files: dict[int, list[str]] = {}
    checkpoints: dict[int, str] = {}
    for r in records:
        if r.session == session and r.kind == "call":
            files.setdefault(r.request, []).extend(r.changed)
        elif r.session == session and r.kind == "checkpoint" and r.before:
            checkpoints.setdefault(r.request, r.before)
    entries = []
    for i, r in enumerate(records):
        if r.session != session:
            continue
        if r.kind == "request":
            start = _first_snapshot_from(records, i)
            changed = tuple(dict.fromkeys(files.get(r.request, ())))
            checkpoint = checkpoints.get(r.request) or (records[start].before if start is not None else None)
            entries.append(
                HistoryEntry("request", session, r.request, r.prompt, r.time, checkpoint, start, changed, r.messages)
            )
        elif r.kind == "rewind":
            entries.append(HistoryEntry("rewind", session, r.request, "", r.time, r.before, i, r.changed, -1))
    return entries


def _first_snapshot_from(records: Sequence[Record], start: int) -> int | None:
    for i in range(start, len(records)):
        if records[i].before and records[i].kind in ("checkpoint", "call", "rewind"):
            return i
    return None


def latest_session(records: Sequence[Record]) -> str | None:
    """The session of the newest checkpoint: "the latest session of this directory" that has files to rewind."""
    for r in reversed(records):
        if r.kind in ("checkpoint", "call"):
            return r.session
    return None


def resolve_session(records: Sequence[Record], prefix: str) -> str:
    sessions = list(dict.fromkeys(r.session for r in records))
    if prefix in sessions:
        return prefix
    matches = [s for s in sessions if s.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RewindTargetError(f"no checkpoints of session {prefix!r} in this directory (see `agent rewind --list`)")
    raise RewindTargetError(f"session id {prefix!r} is ambiguous: {len(matches)} sessions match; give more characters")


def find_target(records: Sequence[Record], session: str, to: int | str | None) -> int:
    """The index of the record to rewind to: before request ``to``, before checkpoint id ``to``, or (None) before the
    session's last request that changed files."""
    if to is None:
        for i in range(len(records) - 1, -1, -1):
            if records[i].session == session and records[i].kind == "checkpoint":
                return i
        raise RewindTargetError(f"session {session} changed no files: nothing to rewind")
    if isinstance(to, int):
        numbers = [r.request for r in records if r.session == session and r.kind == "request"]
        for i, r in enumerate(records):
            if r.session == session and r.kind == "request" and r.request == to:
                start = _first_snapshot_from(records, i)
                if start is None:
                    raise RewindTargetError(f"no file changed since request {to} of session {session}: nothing to do")
                return start
        known = f"it has requests {min(numbers)} to {max(numbers)}" if numbers else "it has no requests recorded"
        raise RewindTargetError(f"session {session} has no request {to} ({known})")
    matches = [i for i, r in enumerate(records) if r.before and r.before.startswith(to)]
    ids = {records[i].before for i in matches}
    if not matches:
        raise RewindTargetError(f"no checkpoint {to} in this directory (see `agent rewind --list`)")
    if len(ids) > 1:
        raise RewindTargetError(f"checkpoint id {to!r} is ambiguous; give more characters")
    return matches[0]


# --------------------------------------------------------------------------- rewinding


def rewind(
    store: CheckpointStore,
    index: int,
    *,
    session: str,
    force: bool = False,
    dry_run: bool = False,
) -> RewindReport:
    """Restore the workspace to ``records[index].before`` for every path changed since; see the module docstring.

    ``session`` is the session the rewind is recorded under. Raises RewindRefused on conflicts unless ``force``.
    """
    repo = store.repo
    with repo.locked():
        pending = store.journal.read()
        if pending is not None:
            raise RewindPending(
                "an earlier rewind was interrupted: run `agent rewind` to finish it or `agent rewind --rollback`"
            )
        records = store.timeline.records()
        target = records[index]
        assert target.before is not None
        changed: set[str] = set()
        outside: set[str] = set()
        for r in records[index:]:
            changed.update(r.changed)
        for r in records[index + 1 :]:
            outside.update(r.outside)
        want = repo.load(target.before)
        pre = repo.snapshot(session, "before a rewind")
        new_outside = _changed_since(store, records, pre)
        outside |= new_outside
        plan = make_plan(want, pre, changed, repo.listing(want.files), repo.listing(pre.files))
        touched = {op.path for op in plan.ops} | {f"{op.path}/" for op in plan.ops}
        report = RewindReport(
            session=target.session,
            request=target.request,
            checkpoint=target.before,
            dry_run=dry_run,
            restored=plan.writes + [f"{op.path}/" for op in plan.ops if op.action == "mkdir"],
            deleted=plan.deletes,
            not_restored=dict(plan.not_restored),
            conflicts=sorted(p for p in changed & outside if p in touched),
            undo=pre.commit,
        )
        if dry_run or not plan.ops:
            report.undo = None
            return report
        if report.conflicts and not force:
            raise RewindRefused(report)
        journal = Journal(
            to=target.before,
            before=pre.commit,
            session=session,
            request=target.request,
            outside=tuple(sorted(new_outside)),
            ops=tuple(plan.ops),
            started=now(),
        )
        store.journal.write(journal)
        failed = _apply_and_record(store, journal)
    _drop_failed(report, failed)
    report.applied = True
    return report


def _changed_since(store: CheckpointStore, records: Sequence[Record], current: Snapshot) -> set[str]:
    """Paths changed outside the agent since the timeline's last snapshot."""
    last = next((r.snapshot for r in reversed(records) if r.snapshot), None)
    if last is None or last == current.commit:
        return set()
    try:
        previous = store.repo.load(last)
    except CheckpointError:
        return set()
    return store.repo.changed(previous, current)


def _apply_and_record(store: CheckpointStore, journal: Journal) -> dict[str, str]:
    repo = store.repo
    blobs = repo.blobs(op.blob for op in journal.ops if op.action in ("write", "link"))
    failed = WorkspaceWriter(store.workspace).apply(journal.ops, blobs)
    records = store.timeline.records()
    done_before = records and records[-1].kind == "rewind" and records[-1].before == journal.before
    if not done_before:  # a rewind killed after recording itself must not be recorded twice
        post = repo.snapshot(journal.session, "after a rewind")
        changed = repo.changed(repo.load(journal.before), post)
        store.timeline.append(
            Record(
                "rewind",
                journal.session,
                journal.request,
                before=journal.before,
                after=post.commit,
                changed=tuple(sorted(changed)),
                outside=journal.outside,
                to=journal.to,
            )
        )
    store.journal.remove()
    return failed


def _drop_failed(report: RewindReport, failed: dict[str, str]) -> None:
    report.not_restored.update(failed)
    report.restored = [p for p in report.restored if p.rstrip("/") not in failed]
    report.deleted = [p for p in report.deleted if p not in failed]


def finish(store: CheckpointStore) -> RewindReport:
    """Apply an interrupted rewind's operations again and record it."""
    with store.repo.locked():
        journal = store.journal.read()
        if journal is None:
            raise RewindTargetError("no interrupted rewind to finish")
        report = _journal_report(journal, "finish")
        failed = _apply_and_record(store, journal)
    _drop_failed(report, failed)
    report.applied = True
    return report


def rollback(store: CheckpointStore) -> RewindReport:
    """Put the paths an interrupted rewind named back as they were when it started."""
    repo = store.repo
    with repo.locked():
        journal = store.journal.read()
        if journal is None:
            raise RewindTargetError("no interrupted rewind to roll back")
        before = repo.load(journal.before)
        current = repo.snapshot(journal.session, "during a rollback")
        paths = {op.path + ("/" if op.action in ("mkdir", "rmdir") else "") for op in journal.ops}
        plan: Plan = make_plan(before, current, paths, repo.listing(before.files), repo.listing(current.files))
        writer = WorkspaceWriter(store.workspace)
        writer.remove_leftovers(journal.ops)
        blobs = repo.blobs(op.blob for op in plan.ops if op.action in ("write", "link"))
        failed = writer.apply(plan.ops, blobs)
        store.journal.remove()
    report = RewindReport(
        session=journal.session,
        request=journal.request,
        checkpoint=journal.before,
        applied=True,
        action="rollback",
        restored=plan.writes,
        deleted=plan.deletes,
        not_restored=dict(plan.not_restored),
    )
    _drop_failed(report, failed)
    return report


def _journal_report(journal: Journal, action: Literal["finish"]) -> RewindReport:
    return RewindReport(
        session=journal.session,
        request=journal.request,
        checkpoint=journal.to,
        action=action,
        restored=[op.path for op in journal.ops if op.action in ("write", "link")],
        deleted=[op.path for op in journal.ops if op.action == "delete"],
        undo=journal.before,
    )
