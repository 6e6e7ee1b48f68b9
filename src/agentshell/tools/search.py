"""list_dir, glob, grep: finding things without reading everything.

All three walk without following directory symlinks, skip ``.git``, and cap
what they return and how much they visit, so a huge tree costs a bounded time.
grep never reads through a symlink to a file outside both the workspace and the
directory it was asked to search, and runs its search in a child Python process
(:mod:`agentshell.tools.treewalk`) that is killed if a pattern backtracks without end.
"""

from __future__ import annotations

import heapq
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

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
from agentshell.workspace import WorkspaceGuard

MAX_LIST_ENTRIES = 500
MAX_GLOB_RESULTS = 500
MAX_GREP_MATCHES = 200
MAX_GREP_LINE_CHARS = 300
MAX_GREP_FILE_BYTES = 5 * 1024 * 1024
MAX_VISITED_FILES = 100_000
MAX_GREP_TOTAL_BYTES = 256 * 1024 * 1024  # what one grep call reads at most, however big the tree
MAX_SEARCH_SECONDS = 30.0  # wall time one glob or grep call may walk for
GREP_KILL_AFTER = 5.0  # seconds past MAX_SEARCH_SECONDS before a grep stuck inside one match is killed

DIR_HELP = "Directory to search, relative to the workspace root or absolute (default: the workspace root)."


def _locate_dir(raw: str, ctx: ToolContext) -> tuple[WorkspaceGuard, Path, str]:
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


class ListDir(BaseTool[ListDirArgs]):
    name = "list_dir"
    description = (
        "List the entries of one directory (not recursive). Directories end with '/', symlinks show their target."
    )
    kind: ToolKind = "read"

    def access(self, args: ListDirArgs, ctx: ToolContext) -> Access:
        return _access(self.name, args.path, ctx)

    def run(self, args: ListDirArgs, ctx: ToolContext) -> ToolResult:
        _, path, shown = _locate_dir(args.path, ctx)
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


class Glob(BaseTool[GlobArgs]):
    name = "glob"
    description = "Find files whose path matches a glob pattern. Returns matching paths, one per line."
    kind: ToolKind = "read"

    def access(self, args: GlobArgs, ctx: ToolContext) -> Access:
        return _access(self.name, args.path, ctx, repr(args.pattern)[:80])

    def run(self, args: GlobArgs, ctx: ToolContext) -> ToolResult:
        guard, root, shown = _locate_dir(args.path, ctx)
        if not root.is_dir():
            raise ToolError(f"{shown} is not a directory")
        pattern = args.pattern.strip().removeprefix("./")
        if not pattern:
            raise ToolError("pattern is empty; try '*.py' or 'src/**/*.js'")
        by_name = "/" not in pattern
        prefix = _label_prefix(guard, root)
        found: list[str] = []
        more = 0
        deadline = time.monotonic() + MAX_SEARCH_SECONDS
        walked_out = False
        for item in walk(str(root), MAX_VISITED_FILES):
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


class Grep(BaseTool[GrepArgs]):
    name = "grep"
    description = (
        "Search file contents with a regular expression. Prints each matching line as 'path:line: text'. "
        "Skips .git, binary files and very large files."
    )
    kind: ToolKind = "read"

    def access(self, args: GrepArgs, ctx: ToolContext) -> Access:
        return _access(self.name, args.path, ctx, repr(args.pattern)[:80])

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
        guard, root, shown = _locate_dir(args.path, ctx)
        include = args.include.strip().removeprefix("./") if args.include else None
        request = {
            "pattern": args.pattern,
            "flags": flags,
            "include": path_regex(include).pattern if include else None,
            "include_by_name": include is not None and "/" not in include,
            "root": str(root),
            "workspace": str(guard.root),
            "is_file": root.is_file(),
            "label": shown,
            "prefix": "" if root.is_file() else _label_prefix(guard, root),
            "max_files": MAX_VISITED_FILES,
            "max_matches": MAX_GREP_MATCHES,
            "line_chars": MAX_GREP_LINE_CHARS,
            "max_file_bytes": MAX_GREP_FILE_BYTES,
            "max_total_bytes": MAX_GREP_TOTAL_BYTES,
            "seconds": MAX_SEARCH_SECONDS,
            "sniff": SNIFF_BYTES,
        }
        found = _run_search(request)
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


def _run_search(request: dict[str, Any]) -> dict[str, Any]:
    """Run the search in a child Python that can be killed: ``re`` cannot be interrupted in-process."""
    limit = request["seconds"] + GREP_KILL_AFTER
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", treewalk.__file__],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=limit,
            check=False,
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
