"""What git's tree of a checkpoint does not hold: permissions, empty directories, and what was left out.

A git tree keeps a file's bytes, whether it is executable, and symlinks as links.
The manifest, stored beside that tree in each checkpoint, keeps the rest a restore
needs: full permission bits where they differ from git's 0644/0755, the empty
directories, and every path that was not captured with the reason (too large, a
nested repository, unreadable) and its size and mtime, so a later checkpoint can
tell whether it changed.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_FORMAT = 1

# git mode -> the permission bits a plain restore of that mode gives
GIT_DEFAULT_PERMS = {"100644": 0o644, "100755": 0o755}


@dataclass(frozen=True)
class Skipped:
    """A path that is not in the checkpoint's tree."""

    reason: str  # "too large (12.0 MiB)", "a nested git repository", "unreadable"
    size: int = 0
    mtime_ns: int = 0


@dataclass
class Manifest:
    perms: dict[str, int] = field(default_factory=dict)  # path -> permission bits, where not git's default
    empty_dirs: set[str] = field(default_factory=set)  # "a/b", leaves only (their parents come with them)
    skipped: dict[str, Skipped] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        data = {
            "format": MANIFEST_FORMAT,
            "perms": {p: self.perms[p] for p in sorted(self.perms)},
            "empty_dirs": sorted(self.empty_dirs),
            "skipped": {p: [s.reason, s.size, s.mtime_ns] for p, s in sorted(self.skipped.items())},
        }
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        raw = json.loads(data)
        return cls(
            perms={str(k): int(v) for k, v in raw.get("perms", {}).items()},
            empty_dirs={str(d) for d in raw.get("empty_dirs", [])},
            skipped={str(k): Skipped(str(v[0]), int(v[1]), int(v[2])) for k, v in raw.get("skipped", {}).items()},
        )

    def changed_paths(self, other: Manifest) -> set[str]:
        """Paths whose permissions, empty-directory state or left-out state differ; directories end in "/"."""
        out = {p for p in self.perms.keys() | other.perms.keys() if self.perms.get(p) != other.perms.get(p)}
        out |= {f"{d}/" for d in self.empty_dirs ^ other.empty_dirs}
        out |= {p for p in self.skipped.keys() | other.skipped.keys() if self.skipped.get(p) != other.skipped.get(p)}
        return out


def parent_dirs(path: str) -> Iterable[str]:
    """ "a/b/c" -> "a/b", "a"."""
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


def directories_of(paths: Iterable[str]) -> set[str]:
    """Every directory holding one of ``paths``, the root ("") included."""
    dirs = {""}
    for path in paths:
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            if path in dirs:
                break
            dirs.add(path)
    return dirs


def scan(
    workspace: Path, tracked: Mapping[str, str], dirs: set[str], leave_out: Iterable[str] = ()
) -> tuple[dict[str, int], set[str]]:
    """Permissions of the tracked files that git would not restore, and the empty directories.

    ``tracked`` maps each path in the checkpoint's tree to its git mode, ``dirs`` is
    :func:`directories_of` it. Only those directories are listed (one ``scandir`` each); an
    untracked directory found there is an empty-directory candidate only if it holds nothing
    but directories, so ignored trees such as node_modules cost one listing, not a walk.
    """
    leave = set(leave_out)
    perms: dict[str, int] = {}
    empty: set[str] = set()
    for directory in dirs:
        base = workspace / directory if directory else workspace
        try:
            entries = list(os.scandir(base))
        except OSError:
            continue
        for entry in entries:
            rel = f"{directory}/{entry.name}" if directory else entry.name
            mode = tracked.get(rel)
            if mode in GIT_DEFAULT_PERMS:
                try:
                    bits = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode)
                except OSError:
                    continue
                if bits != GIT_DEFAULT_PERMS[mode]:
                    perms[rel] = bits
            elif mode is None and rel not in dirs and rel not in leave and entry.name != ".git":
                try:
                    is_dir = entry.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    empty.update(_empty_leaves(Path(entry.path), rel))
    return perms, empty


def _empty_leaves(path: Path, rel: str, depth: int = 0) -> set[str]:
    """The empty directories at the bottom of a tree that holds nothing else; empty set if it holds anything."""
    if depth > 32:
        return set()
    try:
        entries = list(os.scandir(path))
    except OSError:
        return set()
    if not entries:
        return {rel}
    leaves: set[str] = set()
    for entry in entries:
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.name == ".git":
                return set()
        except OSError:
            return set()
        below = _empty_leaves(Path(entry.path), f"{rel}/{entry.name}", depth + 1)
        if not below:
            return set()
        leaves |= below
    return leaves
