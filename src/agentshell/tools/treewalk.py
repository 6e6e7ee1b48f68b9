"""Walking a tree and searching it; standard library only, so grep can run it as a child process.

Python's ``re`` has no timeout and does not even see Ctrl-C while it backtracks,
so one unlucky pattern (``(a|aa)*b`` against a line of ``a``) would hang the
agent. grep therefore runs :func:`grep_tree` in ``python -I thisfile.py`` with a
hard timeout: the request goes in as JSON on stdin, the result comes back as
JSON on stdout. glob imports :func:`walk` directly.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})


class Found(NamedTuple):
    path: str  # as walked, not resolved
    rel: str  # relative to the walk's root, POSIX
    name: str
    link: bool  # a symlink (to a file): where it points is checked before reading


def walk(root: str, max_files: int) -> Iterator[Found]:
    """Every file under root in name order, .git and friends skipped, directory links not followed."""
    visited = 0
    stack = [(root, "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = sorted(itertools.islice(it, max_files), key=lambda e: e.name)
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
            if visited > max_files:
                return
            yield Found(entry.path, prefix + entry.name, entry.name, link)
        stack.extend(reversed(subdirs))


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _searchable(item: Found, roots: tuple[str, ...], max_bytes: int, sniff: int) -> bytes | None:
    """The file's bytes if grep should look inside: a regular text file, not too big, not a link out."""
    target = item.path
    try:
        if item.link:
            target = os.path.realpath(target)
            if not _inside(target, roots):
                return None
        st = os.stat(target)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        with open(target, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError:
        return None
    if b"\x00" in data[:sniff]:
        return None
    return data


def grep_tree(req: dict[str, Any]) -> dict[str, Any]:
    """Search per the request (see ``agentshell.tools.search.Grep``); returns matches and counts."""
    regex = re.compile(req["pattern"], req["flags"])
    include = re.compile(req["include"], re.DOTALL) if req["include"] else None
    roots = (req["root"], req["workspace"])
    opened = req.get("open_root") or req["root"]  # the checked root held open by search.py; "root" is its real path
    if req["is_file"]:
        files: Iterator[Found] = iter([Found(opened, req["label"], os.path.basename(req["root"]), False)])
    else:
        files = walk(opened, req["max_files"])
    matches: list[str] = []
    total = skipped = read = 0
    budget_hit = False
    deadline = time.monotonic() + req["seconds"]
    for item in files:
        if include and not include.fullmatch(item.name if req["include_by_name"] else item.rel):
            continue
        if read > req["max_total_bytes"] or time.monotonic() > deadline:
            budget_hit = True
            break
        data = _searchable(item, roots, req["max_file_bytes"], req["sniff"])
        if data is None:
            skipped += 1
            continue
        read += len(data)
        text = data.decode("utf-8", "replace")
        if regex.search(text) is None:
            continue
        label = item.rel if req["is_file"] else req["prefix"] + item.rel
        for lineno, line in enumerate(text.splitlines(), 1):
            if regex.search(line):
                total += 1
                if len(matches) < req["max_matches"]:
                    if len(line) > req["line_chars"]:
                        line = line[: req["line_chars"]] + " [line cut]"
                    matches.append(f"{label}:{lineno}: {line}")
    return {"matches": matches, "total": total, "skipped": skipped, "budget_hit": budget_hit}


def main() -> None:
    request = json.loads(sys.stdin.buffer.read())
    sys.stdout.write(json.dumps(grep_tree(request)))


if __name__ == "__main__":
    main()
