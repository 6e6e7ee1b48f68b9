"""read_file, write_file, edit_file.

Reading is bounded whatever the file: lines are read one at a time with a cap
on each, output stops at a size cap, binaries are reported, not dumped.
Editing is exact: the matched text changes and every other byte stays.

A path is resolved once, when the permission gate is asked (``access``), and ``run``
opens exactly that resolved path without following links (see
:func:`agentshell.workspace.open_resolved`): what the gate judged is what is written.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from pydantic import Field, PrivateAttr

from agentshell.permissions.modes import ToolKind
from agentshell.tools.base import (
    MAX_PATH_CHARS,
    Access,
    BaseTool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    plural,
)
from agentshell.tools.textfile import (
    SNIFF_BYTES,
    EditFailed,
    EditOutcome,
    apply_edit,
    diff_stats,
    looks_binary,
    unified_diff,
)
from agentshell.workspace import PathChanged, WorkspaceGuard, open_resolved

DEFAULT_READ_LINES = 2000
MAX_LINE_CHARS = 2000
MAX_READ_CHARS = 60_000  # what one read_file call may return, whatever the file's size
_RAW_LINE_BYTES = MAX_LINE_CHARS * 4  # enough bytes for MAX_LINE_CHARS characters of UTF-8
MAX_SCAN_BYTES = 256 * 1024 * 1024  # how far read_file walks a file to find lines; past this, sed/tail via bash
MAX_EDIT_BYTES = 10 * 1024 * 1024  # edits load the whole file; past this, sed via bash is the right tool
_MAX_PREVIEW_BYTES = 2 * 1024 * 1024
_MODEL_DIFF_CHARS = 4000

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for its other end (absent on Windows)

PATH_HELP = "File path, relative to the workspace root (e.g. 'src/app.py') or absolute."


class _PathArgs(ToolArgs):
    """Arguments naming a path: ``access`` keeps the path it resolved for ``run`` to open."""

    path: str = Field(max_length=MAX_PATH_CHARS, description=PATH_HELP)
    _checked: Path | None = PrivateAttr(default=None)


def _locate(raw: str, ctx: ToolContext) -> tuple[WorkspaceGuard, Path, str]:
    guard = WorkspaceGuard(ctx.workspace)
    try:
        path = guard.resolve(raw)
    except (ValueError, OSError) as exc:
        raise ToolError(f"invalid path {raw!r}: {exc}") from exc
    return guard, path, guard.display(path)


def _checked_path(args: _PathArgs, ctx: ToolContext) -> tuple[WorkspaceGuard, Path, str]:
    """Resolve for the gate and remember it: ``run`` opens what the gate judged, not where a link points now."""
    guard, path, shown = _locate(args.path, ctx)
    args._checked = path
    return guard, path, shown


def _target(args: _PathArgs, ctx: ToolContext) -> tuple[Path, str]:
    """The path ``access`` resolved (resolved now when ``run`` is called without it, as the Python API may)."""
    guard, path, shown = _locate(args.path, ctx)
    if args._checked is not None:
        path = args._checked
        shown = guard.display(path)
    return path, shown


def _open(path: Path, shown: str, flags: int, *, verb: str, make_parents: bool = False) -> tuple[int, bool, int]:
    """(fd, created, size) of the regular file at ``path``, opened without following links; clear errors else."""
    try:
        fd, created = open_resolved(path, flags | _NONBLOCK, make_parents=make_parents)  # a FIFO must not block
    except FileNotFoundError:
        raise ToolError(f"{shown} does not exist; use list_dir or glob to find the right path") from None
    except IsADirectoryError:
        hint = "give a file path" if verb == "write" else "use list_dir to see what it holds"
        raise ToolError(f"{shown} is a directory; {hint}") from None
    except PathChanged as exc:
        raise ToolError(f"{shown} changed after it was checked ({exc.strerror}); not {verb_past(verb)}") from None
    except OSError as exc:
        raise ToolError(f"cannot {verb} {shown}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ToolError(f"{shown} is a directory; use list_dir to see what it holds")
        raise ToolError(f"{shown} is not a regular file (a device, socket or pipe); not {verb_past(verb)}")
    if _NONBLOCK:
        os.set_blocking(fd, True)
    return fd, created, st.st_size


def verb_past(verb: str) -> str:
    return {"read": "read", "write": "written", "edit": "edited"}.get(verb, verb)


def _path_access(tool: str, args: _PathArgs, ctx: ToolContext, detail: str | None = None) -> Access:
    guard, path, shown = _checked_path(args, ctx)
    return Access(summary=f"{tool} {shown}", subject=guard.relative(path), paths=(path,), detail=detail)


# --------------------------------------------------------------------------- read_file


class ReadFileArgs(_PathArgs):
    offset: int | None = Field(
        default=None, ge=1, description="Line number to start reading from (1 = first line). Omit to start at the top."
    )
    limit: int | None = Field(
        default=None, ge=1, description=f"Maximum number of lines to return (default {DEFAULT_READ_LINES})."
    )


class ReadFile(BaseTool[ReadFileArgs]):
    name = "read_file"
    description = (
        "Read a text file. Returns its lines numbered like `cat -n` (number, tab, text). "
        f"Long files are cut at {DEFAULT_READ_LINES} lines; use offset and limit to read further. "
        "Binary files are reported, not shown."
    )
    kind: ToolKind = "read"

    def access(self, args: ReadFileArgs, ctx: ToolContext) -> Access:
        return _path_access(self.name, args, ctx)

    def run(self, args: ReadFileArgs, ctx: ToolContext) -> ToolResult:
        path, shown = _target(args, ctx)
        fd, _, size = _open(path, shown, os.O_RDONLY, verb="read")
        try:
            with os.fdopen(fd, "rb") as f:
                if looks_binary(f.read(SNIFF_BYTES)):
                    return ToolResult(
                        f"{shown} is a binary file ({size} bytes); its content is not shown.", summary="binary file"
                    )
                f.seek(0)
                return _read_lines(f, shown, size, args.offset or 1, args.limit or DEFAULT_READ_LINES)
        except OSError as exc:
            raise ToolError(f"cannot read {shown}: {exc.strerror}") from None


def _read_lines(f: BinaryIO, shown: str, size: int, start: int, limit: int) -> ToolResult:
    out: list[str] = []
    chars = 0
    lineno = 0
    stopped = ""  # why the output ends before the file does
    scan_capped = False
    while True:
        if f.tell() > MAX_SCAN_BYTES:
            scan_capped = True
            break
        raw = f.readline(_RAW_LINE_BYTES)
        if not raw:
            break
        long_line = not raw.endswith(b"\n") and len(raw) == _RAW_LINE_BYTES
        while long_line and f.tell() <= MAX_SCAN_BYTES:  # skip the rest of an overlong line, never holding it
            rest = f.read(1 << 20)
            newline = rest.find(b"\n")
            if newline != -1:
                f.seek(newline + 1 - len(rest), 1)
                break
            if not rest:
                break
        lineno += 1
        if lineno < start:
            continue
        if len(out) >= limit:
            stopped = f"stopped at the limit of {limit} lines"
            break
        text = raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r").replace("\x00", "\ufffd")
        if long_line or len(text) > MAX_LINE_CHARS:
            text = text[:MAX_LINE_CHARS] + " [line cut]"
        entry = f"{lineno:>6}\t{text}"
        if chars + len(entry) + 1 > MAX_READ_CHARS and out:
            stopped = f"output cap of {MAX_READ_CHARS} characters reached"
            lineno -= 1
            break
        out.append(entry)
        chars += len(entry) + 1
    if scan_capped:
        beyond = f"{shown} goes on past the first {MAX_SCAN_BYTES // 2**20} MiB, as far as read_file looks"
        if not out:
            raise ToolError(f"line {start} lies beyond where read_file looks: {beyond}. Use bash, e.g. sed -n")
        stopped = f"{beyond}; use bash (e.g. sed -n or tail) for the rest"
    if not out:
        if lineno == 0:
            return ToolResult(f"{shown} is empty.", summary="empty file")
        raise ToolError(f"offset {start} is past the end of {shown}, which has {lineno} lines")
    first = start
    last = start + len(out) - 1
    body = "\n".join(out)
    if scan_capped:
        body += f"\n[{stopped}]"
    elif stopped:
        body += f"\n[{stopped}; {shown} has more ({size} bytes in all). Continue with offset={last + 1}.]"
    summary = f"read {plural(len(out), 'line')}" if first == 1 and not stopped else f"read lines {first}-{last}"
    return ToolResult(body, summary=summary)


# --------------------------------------------------------------------------- write_file


class WriteFileArgs(_PathArgs):
    path: str = Field(max_length=MAX_PATH_CHARS, description=PATH_HELP + " Parent directories are created.")
    content: str = Field(description="The complete new content of the file. It replaces whatever was there.")


def _current_bytes(path: Path, limit: int) -> bytes | None:
    """The file's bytes for a diff, or None when there is no regular file or it is too big to diff."""
    try:
        fd, _ = open_resolved(path, os.O_RDONLY | _NONBLOCK)
    except FileNotFoundError:
        return b""
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        try:
            return f.read(limit + 1)
        except OSError:
            return None


class WriteFile(BaseTool[WriteFileArgs]):
    name = "write_file"
    description = (
        "Create a file or replace its whole content. For a change to part of an existing file, use edit_file instead."
    )
    kind: ToolKind = "edit"

    def access(self, args: WriteFileArgs, ctx: ToolContext) -> Access:
        guard, path, shown = _checked_path(args, ctx)
        before = _current_bytes(path, _MAX_PREVIEW_BYTES)
        detail = None if before is None else unified_diff(before, args.content.encode("utf-8", "replace"), shown)
        return Access(summary=f"{self.name} {shown}", subject=guard.relative(path), paths=(path,), detail=detail)

    def run(self, args: WriteFileArgs, ctx: ToolContext) -> ToolResult:
        path, shown = _target(args, ctx)
        data = args.content.encode("utf-8", "replace")
        fd, created, size = _open(path, shown, os.O_RDWR | os.O_CREAT, verb="write", make_parents=True)
        existed = not created
        try:
            with os.fdopen(fd, "r+b") as f:
                before = f.read() if size <= MAX_EDIT_BYTES else None
                f.seek(0)
                f.truncate()
                f.write(data)
        except OSError as exc:
            raise ToolError(f"cannot write {shown}: {exc.strerror or exc}") from None
        lines = args.content.count("\n") + (1 if args.content and not args.content.endswith("\n") else 0)
        diff = unified_diff(before, data, shown) if before is not None else None
        if not existed:
            count = plural(lines, "line")
            return ToolResult(f"Created {shown} ({count}).", summary=f"created, {count}", diff=diff)
        added, removed = diff_stats(diff) if diff else (0, 0)
        return ToolResult(
            f"Wrote {shown} ({plural(lines, 'line')}; +{added} -{removed}).",
            summary=f"+{added} -{removed} lines",
            diff=diff,
        )


# --------------------------------------------------------------------------- edit_file


class EditFileArgs(_PathArgs):
    old_string: str = Field(
        description="Exact text to replace, copied from the file including indentation (without read_file's "
        "line-number prefix). Must occur exactly once unless replace_all is true; "
        "add surrounding lines to make it unique."
    )
    new_string: str = Field(description="The text to put in its place.")
    replace_all: bool = Field(default=False, description="Replace every occurrence instead of exactly one.")


class EditFile(BaseTool[EditFileArgs]):
    name = "edit_file"
    description = (
        "Replace an exact piece of text in a file with new text. Read the file first. "
        "Fails, saying why, when old_string is absent or occurs more than once."
    )
    kind: ToolKind = "edit"

    def access(self, args: EditFileArgs, ctx: ToolContext) -> Access:
        guard, path, shown = _checked_path(args, ctx)
        subject = guard.relative(path)
        inside = guard.contains(path) and not guard.in_git_dir(path)
        try:
            fd, _, size = _open(path, shown, os.O_RDONLY, verb="edit")
            with os.fdopen(fd, "rb") as f:
                before, outcome = self._edit(f, size, shown, args)
            detail: str | None = unified_diff(before, outcome.data, shown)
        except ToolError:
            # Inside the workspace the file is readable anyway: fail now rather than ask about a doomed edit.
            # Outside, the reason would tell the model about a file it may not read: ask first, fail later.
            if inside:
                raise
            detail = None
        return Access(summary=f"{self.name} {shown}", subject=subject, paths=(path,), detail=detail)

    def run(self, args: EditFileArgs, ctx: ToolContext) -> ToolResult:
        path, shown = _target(args, ctx)
        fd, _, size = _open(path, shown, os.O_RDWR, verb="edit")
        with os.fdopen(fd, "r+b") as f:
            before, outcome = self._edit(f, size, shown, args)
            after = outcome.data
            try:
                f.seek(0)
                f.write(after)
                f.truncate()
            except OSError as exc:
                raise ToolError(f"cannot write {shown}: {exc.strerror or exc}") from None
        diff = unified_diff(before, after, shown)
        added, removed = diff_stats(diff)
        clipped = diff if len(diff) <= _MODEL_DIFF_CHARS else diff[:_MODEL_DIFF_CHARS] + "[... diff cut ...]\n"
        what = "1 occurrence" if outcome.count == 1 else f"{outcome.count} occurrences"
        if outcome.line_ending_adapted:
            what += " (matched with the file's \\r\\n line endings)"
        return ToolResult(
            f"Edited {shown}: replaced {what} (+{added} -{removed} lines).\n{clipped}",
            summary=f"+{added} -{removed} lines",
            diff=diff,
        )

    @staticmethod
    def _edit(f: BinaryIO, size: int, shown: str, a: EditFileArgs) -> tuple[bytes, EditOutcome]:
        if size > MAX_EDIT_BYTES:
            raise ToolError(f"{shown} is too large to edit here ({size} bytes); use bash (e.g. sed) for files this big")
        try:
            before = f.read()
        except OSError as exc:
            raise ToolError(f"cannot read {shown}: {exc.strerror}") from None
        try:
            outcome = apply_edit(before, a.old_string, a.new_string, replace_all=a.replace_all)
        except EditFailed as exc:
            raise ToolError(f"edit_file {shown}: {exc}") from None
        return before, outcome
