"""list_dir, glob, grep: finding things without reading everything.

All three walk without following directory symlinks, skip ``.git``, and cap
what they return and how much they visit, so a huge tree costs a bounded time.
grep never reads through a symlink to a file outside both the workspace and the
directory it was asked to search.
"""

from __future__ import annotations

import heapq
import itertools
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple, cast

from pydantic import BaseModel, Field

from agentshell.permissions import path_matches
from agentshell.tools.base import (
    MAX_PATH_CHARS,
    MAX_PATTERN_CHARS,
    Access,
    BaseTool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolKind,
    ToolResult,
    plural,
)
from agentshell.tools.textfile import SNIFF_BYTES, looks_binary
from agentshell.workspace import WorkspaceGuard

MAX_LIST_ENTRIES = 500
MAX_GLOB_RESULTS = 500
MAX_GREP_MATCHES = 200
MAX_GREP_LINE_CHARS = 300
MAX_GREP_FILE_BYTES = 5 * 1024 * 1024
MAX_VISITED_FILES = 100_000
MAX_GREP_TOTAL_BYTES = 256 * 1024 * 1024  # what one grep call reads at most, however big the tree
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})

DIR_HELP = "Directory to search, relative to the workspace root or absolute (default: the workspace root)."


def _locate_dir(raw: str, ctx: ToolContext, tool: str) -> tuple[WorkspaceGuard, Path, str]:
    guard = WorkspaceGuard(ctx.workspace)
    try:
        path = guard.resolve(raw)
    except (ValueError, OSError) as exc:
        raise ToolError(f"invalid path {raw!r}: {exc}") from exc
    shown = guard.display(path)
    if not path.exists():
        raise ToolError(f"{shown} does not exist")
    return guard, path, shown


def _access(tool: str, raw: str, ctx: ToolContext, what: str = "") -> Access:
    guard = WorkspaceGuard(ctx.workspace)
    try:
        path = guard.resolve(raw)
    except (ValueError, OSError) as exc:
        raise ToolError(f"invalid path {raw!r}: {exc}") from exc
    shown = guard.display(path)
    return Access(summary=f"{tool} {what}{' in ' if what else ''}{shown}", subject=guard.relative(path), paths=(path,))


class Found(NamedTuple):
    path: str  # as walked, not resolved
    rel: str  # relative to the walk's root, POSIX
    name: str
    link: bool  # a symlink (to a file): where it points is checked before reading


def _walk(root: Path) -> Iterator[Found]:
    """Every file under root in name order, .git and friends skipped, directory links not followed."""
    visited = 0
    stack = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(itertools.islice(it, MAX_VISITED_FILES), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIPPED_DIRS:
                        subdirs.append((entry.path, f"{prefix}{entry.name}/"))
                    continue
                link = entry.is_symlink()
                if link and entry.is_dir():
                    continue
            except OSError:
                continue
            visited += 1
            if visited > MAX_VISITED_FILES:
                return
            yield Found(entry.path, prefix + entry.name, entry.name, link)
        stack.extend(reversed(subdirs))


def _label_prefix(guard: WorkspaceGuard, root: Path) -> str:
    """What goes before a walked file's relative path so the model sees workspace-relative (or absolute) paths."""
    if not guard.contains(root):
        return root.as_posix() + "/"
    base = guard.relative(root)
    return "" if base == "." else base + "/"


# --------------------------------------------------------------------------- list_dir


class ListDirArgs(ToolArgs):
    path: str = Field(
        default=".",
        max_length=MAX_PATH_CHARS,
        description="Directory to list, relative to the workspace root (default '.').",
    )


class ListDir(BaseTool):
    name = "list_dir"
    description = (
        "List the entries of one directory (not recursive). Directories end with '/', symlinks show their target."
    )
    kind: ToolKind = "read"
    Args: type[BaseModel] = ListDirArgs

    def access(self, args: BaseModel, ctx: ToolContext) -> Access:
        return _access(self.name, cast(ListDirArgs, args).path, ctx)

    def run(self, args: BaseModel, ctx: ToolContext) -> ToolResult:
        _, path, shown = _locate_dir(cast(ListDirArgs, args).path, ctx, self.name)
        if not path.is_dir():
            raise ToolError(f"{shown} is a file, not a directory; use read_file to read it")
        try:
            with os.scandir(path) as it:
                count = 0

                def counted() -> Iterator[os.DirEntry[str]]:
                    nonlocal count
                    for entry in it:
                        count += 1
                        yield entry

                # A directory of a million entries costs a count, not a million objects in memory.
                entries = heapq.nsmallest(MAX_LIST_ENTRIES, counted(), key=lambda e: e.name)
                lines = [_describe(entry) for entry in entries]
        except OSError as exc:
            raise ToolError(f"cannot list {shown}: {exc.strerror}") from None
        if not lines:
            return ToolResult(f"{shown} is empty.", summary="empty directory")
        if count > MAX_LIST_ENTRIES:
            lines.append(f"[... {count - MAX_LIST_ENTRIES} more entries not shown; use glob to narrow down]")
        return ToolResult("\n".join(lines), summary="1 entry" if count == 1 else f"{count} entries")


def _describe(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        try:
            return f"{entry.name} -> {os.readlink(entry.path)}"
        except OSError:
            return f"{entry.name} -> ?"
    return entry.name + "/" if entry.is_dir() else entry.name


# --------------------------------------------------------------------------- glob


class GlobArgs(ToolArgs):
    pattern: str = Field(
        max_length=MAX_PATTERN_CHARS,
        description="File name pattern. '*.py' matches .py files in every directory; 'src/**/*.ts' matches under "
        "src/ at any depth; '*' stays within one directory name, '**' crosses directories.",
    )
    path: str = Field(default=".", max_length=MAX_PATH_CHARS, description=DIR_HELP)


class Glob(BaseTool):
    name = "glob"
    description = "Find files whose path matches a glob pattern. Returns matching paths, one per line."
    kind: ToolKind = "read"
    Args: type[BaseModel] = GlobArgs

    def access(self, args: BaseModel, ctx: ToolContext) -> Access:
        a = cast(GlobArgs, args)
        return _access(self.name, a.path, ctx, repr(a.pattern)[:80])

    def run(self, args: BaseModel, ctx: ToolContext) -> ToolResult:
        a = cast(GlobArgs, args)
        guard, root, shown = _locate_dir(a.path, ctx, self.name)
        if not root.is_dir():
            raise ToolError(f"{shown} is not a directory")
        pattern = a.pattern.strip().removeprefix("./")
        if not pattern:
            raise ToolError("pattern is empty; try '*.py' or 'src/**/*.js'")
        by_name = "/" not in pattern
        prefix = _label_prefix(guard, root)
        found: list[str] = []
        more = 0
        for item in _walk(root):
            if path_matches(pattern, item.name if by_name else item.rel):
                if len(found) < MAX_GLOB_RESULTS:
                    found.append(prefix + item.rel)
                else:
                    more += 1
        if not found:
            return ToolResult(f"No files match {a.pattern!r} in {shown}.", summary="no matches")
        text = "\n".join(found)
        if more:
            text += f"\n[... {more} more matches not shown; use a narrower pattern]"
        return ToolResult(text, summary=plural(len(found) + more, "file"))


# --------------------------------------------------------------------------- grep


class GrepArgs(ToolArgs):
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


class Grep(BaseTool):
    name = "grep"
    description = (
        "Search file contents with a regular expression. Prints each matching line as 'path:line: text'. "
        "Skips .git, binary files and very large files."
    )
    kind: ToolKind = "read"
    Args: type[BaseModel] = GrepArgs

    def access(self, args: BaseModel, ctx: ToolContext) -> Access:
        a = cast(GrepArgs, args)
        return _access(self.name, a.path, ctx, repr(a.pattern)[:80])

    def run(self, args: BaseModel, ctx: ToolContext) -> ToolResult:
        a = cast(GrepArgs, args)
        try:
            regex = re.compile(a.pattern, re.MULTILINE | (re.IGNORECASE if a.ignore_case else 0))
        except re.error as exc:
            raise ToolError(f"invalid regular expression {a.pattern[:200]!r}: {exc}") from None
        guard, root, shown = _locate_dir(a.path, ctx, self.name)
        include = a.include.strip().removeprefix("./") if a.include else None
        if root.is_file():
            prefix = ""
            files: Iterator[Found] = iter([Found(str(root), shown, root.name, False)])
        else:
            prefix = _label_prefix(guard, root)
            files = _walk(root)
        matches: list[str] = []
        total = skipped = read = 0
        budget_hit = False
        for item in files:
            if include and not path_matches(include, item.name if "/" not in include else item.rel):
                continue
            if read > MAX_GREP_TOTAL_BYTES:
                budget_hit = True
                break
            data = _searchable(item, guard, root)
            if data is None:
                skipped += 1
                continue
            read += len(data)
            text = data.decode("utf-8", "replace")
            if regex.search(text) is None:
                continue
            label = prefix + item.rel
            for lineno, line in enumerate(text.splitlines(), 1):
                if regex.search(line):
                    total += 1
                    if len(matches) < MAX_GREP_MATCHES:
                        if len(line) > MAX_GREP_LINE_CHARS:
                            line = line[:MAX_GREP_LINE_CHARS] + " [line cut]"
                        matches.append(f"{label}:{lineno}: {line}")
        stopped = (
            f"\n[stopped after reading {MAX_GREP_TOTAL_BYTES // 2**20} MiB; search a narrower path or use include]"
            if budget_hit
            else ""
        )
        if not matches:
            note = f" ({skipped} binary, large or unreadable files skipped)" if skipped else ""
            return ToolResult(f"No matches for {a.pattern!r} in {shown}{note}.{stopped}", summary="no matches")
        text = "\n".join(matches)
        if total > len(matches):
            text += f"\n[... {total - len(matches)} more matching lines not shown; narrow the pattern or path]"
        text += stopped
        return ToolResult(text, summary=f"{total} match" if total == 1 else f"{total} matches")


def _searchable(item: Found, guard: WorkspaceGuard, root: Path) -> bytes | None:
    """The file's bytes if grep should look inside: a regular text file, not too big, not a link out."""
    target = item.path
    try:
        if item.link:
            real = Path(os.path.realpath(target))
            if not (guard.contains(real) or real == root or root in real.parents):
                return None
            target = str(real)
        st = os.stat(target)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_GREP_FILE_BYTES:
            return None
        with open(target, "rb") as f:
            data = f.read(MAX_GREP_FILE_BYTES + 1)
    except OSError:
        return None
    if looks_binary(data[:SNIFF_BYTES]):
        return None
    return data
