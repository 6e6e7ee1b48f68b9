"""Putting paths back as a checkpoint had them: the plan (pure), then its operations (on disk, symlink-safe).

A plan only ever names the paths it is given (the ones the agent changed): it deletes
a file only when the checkpoint did not have it, never touches anything else, and
removes a directory only when it is empty and the checkpoint did not have it.

Applying walks from the workspace root with one directory descriptor at a time,
opened with ``O_NOFOLLOW``: a symlink anywhere on the way (``src`` -> ``/etc``) stops
that operation instead of writing through it, so nothing outside the workspace is
ever written or deleted. Files are written to a temporary name beside the target and
renamed over it, so a path is always either old or new, never half-written. Every
operation is idempotent: a rewind killed half-way is finished by applying the same
operations again (journal.py).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agentshell.checkpoints.gitcmd import CheckpointError
from agentshell.checkpoints.manifest import GIT_DEFAULT_PERMS, parent_dirs
from agentshell.checkpoints.shadow import Entry, Snapshot

Action = Literal["delete", "rmdir", "mkdir", "write", "link"]
TMP_SUFFIX = ".agentshell-rewind"


@dataclass(frozen=True)
class Op:
    action: Action
    path: str
    blob: str = ""
    perms: int = 0

    def to_json(self) -> list[str | int]:
        return [self.action, self.path, self.blob, self.perms]

    @classmethod
    def from_json(cls, data: list[str | int]) -> Op:
        action, path, blob, perms = data
        if action not in ("delete", "rmdir", "mkdir", "write", "link"):
            raise ValueError(f"unknown operation {action!r}")
        return cls(action, str(path), str(blob), int(perms))  # type: ignore[arg-type]


@dataclass
class Plan:
    ops: list[Op] = field(default_factory=list)
    not_restored: dict[str, str] = field(default_factory=dict)  # path -> why

    @property
    def writes(self) -> list[str]:
        return [op.path for op in self.ops if op.action in ("write", "link")]

    @property
    def deletes(self) -> list[str]:
        return [op.path for op in self.ops if op.action == "delete"]


def perms_of(snapshot: Snapshot, path: str, entry: Entry) -> int:
    return snapshot.manifest.perms.get(path, GIT_DEFAULT_PERMS.get(entry.mode, 0o644))


def make_plan(
    target: Snapshot,
    current: Snapshot,
    paths: Iterable[str],
    want: dict[str, Entry],
    have: dict[str, Entry],
) -> Plan:
    """Operations that give each of ``paths`` its state in ``target``; ``current`` is the workspace now.

    ``want``/``have`` are the two files trees' listings. A path ending in "/" is a directory
    whose emptiness changed.
    """
    plan = Plan()
    deletes: list[Op] = []
    writes: list[Op] = []
    dirs_made: list[Op] = []
    dirs_gone: set[str] = set()
    files = sorted(p for p in paths if not p.endswith("/"))
    for path in files:
        w, h = want.get(path), have.get(path)
        w_skip, h_skip = target.manifest.skipped.get(path), current.manifest.skipped.get(path)
        if w is None and w_skip is not None:
            if h_skip != w_skip:
                plan.not_restored[path] = f"not in the checkpoint: {w_skip.reason}"
            continue
        if w is None:
            if h is not None:
                deletes.append(Op("delete", path))
                dirs_gone.update(parent_dirs(path))
            elif h_skip is not None:
                plan.not_restored[path] = f"kept: {h_skip.reason}, so no checkpoint could bring it back"
            continue
        if h == w and (w.mode == "120000" or perms_of(target, path, w) == perms_of(current, path, h)):
            continue
        if w.mode == "120000":
            writes.append(Op("link", path, w.blob))
        else:
            writes.append(Op("write", path, w.blob, perms_of(target, path, w)))
    for path in sorted(p[:-1] for p in paths if p.endswith("/")):
        if path in target.manifest.empty_dirs:
            if path not in current.manifest.empty_dirs:
                dirs_made.append(Op("mkdir", path))
        elif path in current.manifest.empty_dirs:
            dirs_gone.add(path)
    needed = _dirs_of(want, target)
    rmdirs = [Op("rmdir", d) for d in dirs_gone - needed]
    depth: Callable[[Op], tuple[int, str]] = lambda op: (op.path.count("/"), op.path)  # noqa: E731
    plan.ops = [
        *sorted(deletes, key=depth, reverse=True),
        *sorted(rmdirs, key=depth, reverse=True),
        *sorted(dirs_made, key=depth),
        *sorted(writes, key=depth),
    ]
    return plan


def _dirs_of(listing: dict[str, Entry], snapshot: Snapshot) -> set[str]:
    """Every directory the checkpoint had: parents of its files, of what it left out, and its empty directories."""
    out: set[str] = set()
    for path in [*listing, *snapshot.manifest.skipped]:
        out.update(parent_dirs(path))
    for path in snapshot.manifest.empty_dirs:
        out.add(path)
        out.update(parent_dirs(path))
    return out


# --------------------------------------------------------------------------- applying


class Blocked(Exception):
    """This one operation cannot be done safely; the others go on."""


class WorkspaceWriter:
    """Applies operations inside ``root`` without ever following a symlink."""

    def __init__(self, root: Path) -> None:
        if os.open not in os.supports_dir_fd or os.rename not in os.supports_dir_fd:  # replace = rename there
            raise CheckpointError("rewinding needs a system whose file calls take directory descriptors (POSIX)")
        self.root = root

    def apply(self, ops: Iterable[Op], blobs: Iterator[tuple[str, bytes]]) -> dict[str, str]:
        """Run every operation; ``blobs`` yields the contents of write/link operations in their order.

        Returns path -> why for the operations that were not done.
        """
        failed: dict[str, str] = {}
        root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for op in ops:
                data = b""
                if op.action in ("write", "link"):
                    blob, data = next(blobs)
                    if blob != op.blob:
                        raise RuntimeError("blobs out of order")
                try:
                    self._one(root_fd, op, data)
                except Blocked as exc:
                    failed[op.path] = str(exc)
                except OSError as exc:
                    failed[op.path] = exc.strerror or str(exc)
        finally:
            os.close(root_fd)
        return failed

    def _one(self, root_fd: int, op: Op, data: bytes) -> None:
        create = op.action in ("write", "link", "mkdir")
        try:
            fd, name = self._parent(root_fd, op.path, create)
        except FileNotFoundError:
            return  # nothing to delete there
        try:
            if op.action == "delete":
                _remove_file(fd, name)
            elif op.action == "rmdir":
                with contextlib.suppress(FileNotFoundError, OSError):
                    os.rmdir(name, dir_fd=fd)  # only ever an empty directory
            elif op.action == "mkdir":
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o755, dir_fd=fd)
            else:
                self._replace(fd, name, op, data)
        finally:
            os.close(fd)

    def _parent(self, root_fd: int, path: str, create: bool) -> tuple[int, str]:
        parts = path.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise Blocked("not a plain relative path")
        fd = os.dup(root_fd)
        walked: list[str] = []
        try:
            for part in parts[:-1]:
                walked.append(part)
                try:
                    child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o755, dir_fd=fd)
                    child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                        raise Blocked(f"{'/'.join(walked)} is a symlink or a file, not a directory") from exc
                    raise
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd, parts[-1]

    def _replace(self, fd: int, name: str, op: Op, data: bytes) -> None:
        tmp = f".{name}{TMP_SUFFIX}"[:255]
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=fd)
        if op.action == "link":
            os.symlink(os.fsdecode(data), tmp, dir_fd=fd)
        else:
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(out, view) :]
                os.fchmod(out, op.perms)
            finally:
                os.close(out)
        try:
            os.replace(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=fd)
            if exc.errno in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST):
                raise Blocked("a directory with other files is in the way") from exc
            raise

    def remove_leftovers(self, ops: Iterable[Op]) -> None:
        """Temporary files a killed rewind may have left beside the paths it was writing."""
        root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for op in ops:
                if op.action not in ("write", "link"):
                    continue
                with contextlib.suppress(OSError, Blocked):
                    fd, name = self._parent(root_fd, op.path, False)
                    try:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(f".{name}{TMP_SUFFIX}"[:255], dir_fd=fd)
                    finally:
                        os.close(fd)
        finally:
            os.close(root_fd)


def _remove_file(fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno in (errno.EISDIR, errno.EPERM):
            raise Blocked("is a directory now; left as it is") from exc
        raise
