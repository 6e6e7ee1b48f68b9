"""list_dir, glob, grep: finding things without reading everything.

All three walk without following directory symlinks, skip ``.git``, and cap
what they return and how much they visit, so a huge tree costs a bounded time.
grep never reads through a symlink to a file outside both the workspace and the
directory it was asked to search, and runs its search in a child Python process
(:mod:`agentshell.tools.treewalk`) that is killed if a pattern backtracks without end.

The path is resolved once, when the permission gate is asked (``access``), and ``run`` searches
exactly that: it opens the resolved path one directory at a time without following a link
(:func:`agentshell.workspace.open_resolved`) and walks the open descriptor (through /proc on
Linux), so a directory swapped for a symlink after the check fails the call instead of taking the
search outside the workspace. As in files.py.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import os
import re
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr

from agentshell.pathglob import path_matches, path_regex
from agentshell.permissions.modes import ToolKind
from agentshell.tools import treewalk
from agentshell.tools.base import (
    MAX_PATH_CHARS,
    MAX_PATTERN_CHARS,
    Access,
    BaseTool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    plural,
)
from agentshell.tools.regex_guard import nested_repeat
from agentshell.tools.textfile import SNIFF_BYTES
from agentshell.tools.treewalk import walk
from agentshell.workspace import PathChanged, WorkspaceGuard, open_resolved

MAX_LIST_ENTRIES = 500
MAX_GLOB_RESULTS = 500
MAX_GREP_MATCHES = 200
MAX_GREP_LINE_CHARS = 300
MAX_GREP_FILE_BYTES = 5 * 1024 * 1024
MAX_VISITED_FILES = 100_000
MAX_GREP_TOTAL_BYTES = 256 * 1024 * 1024  # what one grep call reads at most, however big the tree
MAX_SEARCH_SECONDS = 30.0  # wall time one glob or grep call may walk for
GREP_KILL_AFTER = 5.0  # seconds past MAX_SEARCH_SECONDS before a grep stuck inside one match is killed

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for its other end
_PINS = os.name == "posix"  # directories can be opened and walked by descriptor (not on Windows)

DIR_HELP = "Directory to search, relative to the workspace root or absolute (default: the workspace root)."


class _SearchArgs(ToolArgs):
    """Arguments naming where to search: ``access`` keeps the path it resolved for ``run`` to search."""

    _checked: Path | None = PrivateAttr(default=None)


def _resolve(raw: str, guard: WorkspaceGuard) -> Path:
    try:
        return guard.resolve(raw)
    except (ValueError, OSError) as exc:
        raise ToolError(f"invalid path {raw!r}: {exc}") from exc


def _locate_dir(raw: str, args: _SearchArgs, ctx: ToolContext) -> tuple[WorkspaceGuard, Path, str]:
    """The path ``access`` resolved (resolved now when ``run`` is called without it, as the Python API may)."""
    guard = WorkspaceGuard(ctx.workspace)
    path = args._checked if args._checked is not None else _resolve(raw, guard)
    return guard, path, guard.display(path)


def _access(tool: str, raw: str, args: _SearchArgs, ctx: ToolContext, what: str = "") -> Access:
    guard = WorkspaceGuard(ctx.workspace)
    path = args._checked = _resolve(raw, guard)
    shown = guard.display(path)
    return Access(summary=f"{tool} {what}{' in ' if what else ''}{shown}", subject=guard.relative(path), paths=(path,))


@dataclass(frozen=True)
class _Pinned:
    """The checked path, held open: what a search reads is what the gate judged."""

    fd: int | None  # None where directories cannot be held open (Windows): there the checked path is used
    walk_root: str  # the name to walk or read: the descriptor's on Linux, else the checked path
    mode: int

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_file(self) -> bool:
        return stat.S_ISREG(self.mode)


@contextlib.contextmanager
def _pinned(path: Path, shown: str) -> Iterator[_Pinned]:
    """Open ``path`` (resolved) without following any link on the way; a link swapped in since the check fails."""
    if not _PINS:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise ToolError(f"{shown} does not exist") from None
        yield _Pinned(None, str(path), mode)
        return
    try:
        if len(path.parts) < 2:  # the filesystem root: no link on the way to it
            fd = os.open(path, os.O_RDONLY)
        else:
            fd, _ = open_resolved(path, os.O_RDONLY | _NONBLOCK)
    except FileNotFoundError:
        raise ToolError(f"{shown} does not exist") from None
    except PathChanged as exc:
        raise ToolError(f"{shown} changed after it was checked ({exc.strerror}); not searched") from None
    except OSError as exc:
        raise ToolError(f"cannot open {shown}: {exc.strerror or exc}") from None
    try:
        by_descriptor = f"/proc/self/fd/{fd}"
        walk_root = by_descriptor if os.path.isdir("/proc/self/fd") else str(path)
        yield _Pinned(fd, walk_root, os.fstat(fd).st_mode)
    finally:
        os.close(fd)


def _label_prefix(guard: WorkspaceGuard, root: Path) -> str:
    """What goes before a walked file's relative path so the model sees workspace-relative (or absolute) paths."""
    if not guard.contains(root):
        return root.as_posix() + "/"
    base = guard.relative(root)
    return "" if base == "." else base + "/"


# --------------------------------------------------------------------------- list_dir


class ListDirArgs(_SearchArgs):
    path: str = Field(
        default=".",
        max_length=MAX_PATH_CHARS,
        description="Directory to list, relative to the workspace root (default '.').",
    )


class ListDir(BaseTool[ListDirArgs]):
    name = "list_dir"
    description = (
        "List the entries of one directory (not recursive). Directories end with '/', symlinks show their target."
    )
    kind: ToolKind = "read"

    def access(self, args: ListDirArgs, ctx: ToolContext) -> Access:
        return _access(self.name, args.path, args, ctx)

    def run(self, args: ListDirArgs, ctx: ToolContext) -> ToolResult:
        _, path, shown = _locate_dir(args.path, args, ctx)
        with _pinned(path, shown) as pin:
            if not pin.is_dir:
                raise ToolError(f"{shown} is a file, not a directory; use read_file to read it")
            return _list(pin.fd if pin.fd is not None else path, shown)


def _list(directory: int | Path, shown: str) -> ToolResult:
    """The entries of ``directory``: an open descriptor (links read relative to it), or a path where there is none."""
    dir_fd = directory if isinstance(directory, int) else None
    try:
        with os.scandir(directory) as it:
            count = 0

            def counted() -> Iterator[os.DirEntry[str]]:
                nonlocal count
                for entry in it:
                    count += 1
                    yield entry

            # A directory of a million entries costs a count, not a million objects in memory.
            entries = heapq.nsmallest(MAX_LIST_ENTRIES, counted(), key=lambda e: e.name)
            lines = [_describe(entry, dir_fd) for entry in entries]
    except OSError as exc:
        raise ToolError(f"cannot list {shown}: {exc.strerror}") from None
    if not lines:
        return ToolResult(f"{shown} is empty.", summary="empty directory")
    if count > MAX_LIST_ENTRIES:
        lines.append(f"[... {count - MAX_LIST_ENTRIES} more entries not shown; use glob to narrow down]")
    return ToolResult("\n".join(lines), summary="1 entry" if count == 1 else f"{count} entries")


def _describe(entry: os.DirEntry[str], dir_fd: int | None) -> str:
    if entry.is_symlink():
        try:
            target = os.readlink(entry.name, dir_fd=dir_fd) if dir_fd is not None else os.readlink(entry.path)
            return f"{entry.name} -> {target}"
        except OSError:
            return f"{entry.name} -> ?"
    return entry.name + "/" if entry.is_dir() else entry.name


# --------------------------------------------------------------------------- glob


class GlobArgs(_SearchArgs):
    pattern: str = Field(
        max_length=MAX_PATTERN_CHARS,
        description="File name pattern. '*.py' matches .py files in every directory; 'src/**/*.ts' matches under "
        "src/ at any depth; '*' stays within one directory name, '**' crosses directories.",
    )
    path: str = Field(default=".", max_length=MAX_PATH_CHARS, description=DIR_HELP)


class Glob(BaseTool[GlobArgs]):
    name = "glob"
    description = "Find files whose path matches a glob pattern. Returns matching paths, one per line."
    kind: ToolKind = "read"

    def access(self, args: GlobArgs, ctx: ToolContext) -> Access:
        return _access(self.name, args.path, args, ctx, repr(args.pattern)[:80])

    def run(self, args: GlobArgs, ctx: ToolContext) -> ToolResult:
        pattern = args.pattern.strip().removeprefix("./")
        if not pattern:
            raise ToolError("pattern is empty; try '*.py' or 'src/**/*.js'")
        guard, root, shown = _locate_dir(args.path, args, ctx)
        by_name = "/" not in pattern
        prefix = _label_prefix(guard, root)
        found: list[str] = []
        more = 0
        deadline = time.monotonic() + MAX_SEARCH_SECONDS
        walked_out = False
        with _pinned(root, shown) as pin:
            if not pin.is_dir:
                raise ToolError(f"{shown} is not a directory")
            for item in walk(pin.walk_root, MAX_VISITED_FILES):
                if time.monotonic() > deadline:
                    walked_out = True
                    break
                if path_matches(pattern, item.name if by_name else item.rel):
                    if len(found) < MAX_GLOB_RESULTS:
                        found.append(prefix + item.rel)
                    else:
                        more += 1
        late = f"\n[stopped after {MAX_SEARCH_SECONDS:g} s of walking; search a narrower path]" if walked_out else ""
        if not found:
            return ToolResult(f"No files match {args.pattern!r} in {shown}.{late}", summary="no matches")
        text = "\n".join(found)
        if more:
            text += f"\n[... {more} more matches not shown; use a narrower pattern]"
        text += late
        return ToolResult(text, summary=plural(len(found) + more, "file"))


# --------------------------------------------------------------------------- grep


class GrepArgs(_SearchArgs):
    pattern: str = Field(
        max_length=MAX_PATTERN_CHARS,
        description="Python regular expression to search for, e.g. 'def \\w+_test' or 'TODO'.",
    )
    path: str = Field(
        default=".", max_length=MAX_PATH_CHARS, description="File or " + DIR_HELP[0].lower() + DIR_HELP[1:]
    )
    include: str | None = Field(
        default=None,
        max_length=MAX_PATTERN_CHARS,
        description="Only search files whose name matches this glob, e.g. '*.py'.",
    )
    ignore_case: bool = Field(default=False, description="Match without regard to case.")


class Grep(BaseTool[GrepArgs]):
    name = "grep"
    description = (
        "Search file contents with a regular expression. Prints each matching line as 'path:line: text'. "
        "Skips .git, binary files and very large files."
    )
    kind: ToolKind = "read"

    def access(self, args: GrepArgs, ctx: ToolContext) -> Access:
        return _access(self.name, args.path, args, ctx, repr(args.pattern)[:80])

    def run(self, args: GrepArgs, ctx: ToolContext) -> ToolResult:
        flags = re.MULTILINE | (re.IGNORECASE if args.ignore_case else 0)
        try:
            re.compile(args.pattern, flags)
        except re.error as exc:
            raise ToolError(f"invalid regular expression {args.pattern[:200]!r}: {exc}") from None
        if nested_repeat(args.pattern, flags):
            raise ToolError(
                f"the pattern {args.pattern[:200]!r} nests a repeat inside a repeat (like '(a+)+'), which can take "
                "exponential time; rewrite it without the nesting (e.g. 'a+' instead of '(a+)+')"
            )
        guard, root, shown = _locate_dir(args.path, args, ctx)
        include = args.include.strip().removeprefix("./") if args.include else None
        with _pinned(root, shown) as pin:
            if not (pin.is_dir or pin.is_file):
                raise ToolError(f"{shown} is neither a file nor a directory; not searched")
            found = _run_search(_grep_request(args, flags, include, guard, root, shown, pin), pin.fd)
        matches: list[str] = found["matches"]
        total: int = found["total"]
        stopped = (
            f"\n[stopped early: one search reads at most {MAX_GREP_TOTAL_BYTES // 2**20} MiB "
            f"in {MAX_SEARCH_SECONDS:g} s; search a narrower path or use include]"
            if found["budget_hit"]
            else ""
        )
        if not matches:
            skipped = found["skipped"]
            note = f" ({skipped} binary, large or unreadable files skipped)" if skipped else ""
            return ToolResult(f"No matches for {args.pattern!r} in {shown}{note}.{stopped}", summary="no matches")
        text = "\n".join(matches)
        if total > len(matches):
            text += f"\n[... {total - len(matches)} more matching lines not shown; narrow the pattern or path]"
        text += stopped
        return ToolResult(text, summary=f"{total} match" if total == 1 else f"{total} matches")


def _grep_request(
    args: GrepArgs, flags: int, include: str | None, guard: WorkspaceGuard, root: Path, shown: str, pin: _Pinned
) -> dict[str, Any]:
    """What the child searches (:func:`agentshell.tools.treewalk.grep_tree`): ``open_root`` is read, ``root`` judged."""
    return {
        "pattern": args.pattern,
        "flags": flags,
        "include": path_regex(include).pattern if include else None,
        "include_by_name": include is not None and "/" not in include,
        "root": str(root),
        "open_root": pin.walk_root,
        "workspace": str(guard.root),
        "is_file": pin.is_file,
        "label": shown,
        "prefix": "" if pin.is_file else _label_prefix(guard, root),
        "max_files": MAX_VISITED_FILES,
        "max_matches": MAX_GREP_MATCHES,
        "line_chars": MAX_GREP_LINE_CHARS,
        "max_file_bytes": MAX_GREP_FILE_BYTES,
        "max_total_bytes": MAX_GREP_TOTAL_BYTES,
        "seconds": MAX_SEARCH_SECONDS,
        "sniff": SNIFF_BYTES,
    }


def _run_search(request: dict[str, Any], pinned_fd: int | None = None) -> dict[str, Any]:
    """Run the search in a child Python that can be killed: ``re`` cannot be interrupted in-process.

    The child inherits ``pinned_fd`` under the same number, so ``open_root`` (/proc/self/fd/N) names the
    same open directory there."""
    limit = request["seconds"] + GREP_KILL_AFTER
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", treewalk.__file__],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=limit,
            check=False,
            pass_fds=() if pinned_fd is None else (pinned_fd,),
        )
    except subprocess.TimeoutExpired:
        raise ToolError(
            f"grep was stopped after {limit:g} s: the pattern takes too long to match (a pattern like '(a|aa)*b' "
            "backtracks without end); use a simpler pattern or search fewer files"
        ) from None
    except OSError as exc:
        raise ToolError(f"cannot run the search: {exc.strerror or exc}") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise ToolError(f"the search failed: {reason[0][:300]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result
