"""Path confinement: where a path a model wrote really points, and whether that is inside the workspace.

Every path is judged by its *resolved* form (``..`` collapsed, every symlink
followed, also in parent directories), never by how it was spelled: ``src/link``
that points at ``/etc`` is outside, ``../ws/a.py`` that comes back in is inside.

A resolved path is then opened as judged (:func:`open_resolved`): one directory at a
time, never following a link, so a directory swapped for a symlink between the
check and the write makes the write fail instead of landing where the link points.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from pathlib import Path

# O_PATH (Linux) passes through a directory without needing permission to list it, as path lookup does.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | _CLOEXEC | getattr(os, "O_PATH", os.O_RDONLY)
_WALKS = os.open in os.supports_dir_fd and bool(_NOFOLLOW)  # not on Windows: there the path is re-resolved instead


class PathChanged(OSError):
    """A path changed between the permission check and the open: a link appeared where a directory was."""


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


def open_resolved(path: Path, flags: int, *, mode: int = 0o666, make_parents: bool = False) -> tuple[int, bool]:
    """Open ``path`` (absolute, already resolved: no links in it) without following any link; (fd, created).

    Each directory is opened relative to the one before it with O_NOFOLLOW, and the file last, so a
    component that has become a link fails with :class:`PathChanged`. With ``os.O_CREAT`` in ``flags``
    a missing file is created (``created`` says so) and, with ``make_parents``, missing directories too.
    Where the system can name an open file (Linux ``/proc``, macOS ``F_GETPATH``), the name is checked
    as well, so a directory moved elsewhere meanwhile is caught before anything is written.
    """
    if not path.is_absolute() or len(path.parts) < 2:
        raise ValueError(f"not an absolute file path: {path}")
    if not _WALKS:
        return _open_by_name(path, flags, mode, make_parents=make_parents)
    parent = os.open(path.anchor, _DIR_FLAGS & ~_NOFOLLOW)
    try:
        for name in path.parts[1:-1]:
            child = _enter(parent, name, make_parents=make_parents and bool(flags & os.O_CREAT))
            os.close(parent)
            parent = child
        name = path.parts[-1]
        fd, created = _open_file(parent, name, flags, mode)
        try:
            _check_name(fd, path)
        except BaseException:
            os.close(fd)
            if created:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=parent)
            raise
        return fd, created
    finally:
        os.close(parent)


def _open_by_name(path: Path, flags: int, mode: int, *, make_parents: bool) -> tuple[int, bool]:
    """Where directories cannot be opened one by one: open by name, then check the name still resolves as judged."""
    if make_parents and flags & os.O_CREAT:
        path.parent.mkdir(parents=True, exist_ok=True)
    created = not os.path.lexists(path)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0), mode)
    if os.path.realpath(path) != str(path):
        os.close(fd)
        raise PathChanged(errno.ELOOP, "a symbolic link appeared on the path after it was checked", str(path))
    return fd, created


def _enter(parent: int, name: str, *, make_parents: bool) -> int:
    """A descriptor for the directory ``name`` inside ``parent``, refusing a link."""
    try:
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            if not make_parents:
                raise
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=parent)
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        _raise_if_changed(parent, name, exc, was_directory=True)
        raise


def _open_file(parent: int, name: str, flags: int, mode: int) -> tuple[int, bool]:
    base = (flags & ~(os.O_CREAT | os.O_EXCL)) | _NOFOLLOW | _CLOEXEC
    for _ in range(3):  # the file may appear or vanish between the two tries
        try:
            try:
                return os.open(name, base, mode, dir_fd=parent), False
            except FileNotFoundError:
                if not flags & os.O_CREAT:
                    raise
            try:
                return os.open(name, base | os.O_CREAT | os.O_EXCL, mode, dir_fd=parent), True
            except FileExistsError:
                continue
        except OSError as exc:
            _raise_if_changed(parent, name, exc, was_directory=False)
            raise
    raise PathChanged(errno.EAGAIN, "the file kept appearing and disappearing", name)


def _raise_if_changed(parent: int, name: str, exc: OSError, *, was_directory: bool) -> None:
    """Turn "not a directory" / "too many links" into :class:`PathChanged` when a link is, or was, to blame."""
    if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):  # what O_NOFOLLOW gives on a link, by system
        return
    try:
        mode = os.lstat(name, dir_fd=parent).st_mode
    except OSError:
        return
    if stat.S_ISLNK(mode) or (was_directory and stat.S_ISDIR(mode)):  # a directory again: it was swapped back
        raise PathChanged(errno.ELOOP, "a symbolic link appeared on the path after it was checked", name) from exc


def _check_name(fd: int, expected: Path) -> None:
    actual: str | None = None
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            actual = os.readlink(f"/proc/self/fd/{fd}")
    elif sys.platform == "darwin":
        import fcntl

        with contextlib.suppress(OSError, AttributeError):
            raw = fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024))  # type: ignore[attr-defined,unused-ignore]
            actual = raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if actual is not None and actual != str(expected):
        raise PathChanged(errno.ESTALE, "the path was moved after it was checked", str(expected))
