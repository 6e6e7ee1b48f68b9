"""The shadow repository: one bare git repository per workspace, under the data directory.

Layout of ``data_dir()/checkpoints/<name>-<hash>/`` (see docs/checkpoints.md)::

    git/          the bare repository: objects and one ref per session, refs/agentshell/<session>
    index         git's stat cache of the workspace, so a checkpoint re-reads only changed files
    left-out      the paths excluded from the last checkpoint (too large, nested repositories)
    timeline.jsonl  every checkpoint and change in order (timeline.py)
    rewind.json   the journal of a rewind in progress (journal.py)
    lock          flock'ed around every write

A checkpoint is a commit whose tree has two entries: ``files`` (the workspace as
``git add -A`` sees it, .gitignore honoured) and ``manifest.json`` (manifest.py). The
workspace's own ``.git`` is never touched: every call runs with its own ``GIT_DIR``,
``GIT_WORK_TREE`` and ``GIT_INDEX_FILE`` (gitcmd.py), and git never descends into a
directory named ``.git``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from agentshell.checkpoints.gitcmd import CheckpointError, Git, GitFailed
from agentshell.checkpoints.manifest import Manifest, Skipped, directories_of, scan

try:  # POSIX; on Windows checkpoints work without the cross-process lock.
    import fcntl
except ImportError:  # pragma: no cover - exercised only on Windows
    fcntl = None  # type: ignore[assignment]

MIB = 1 << 20
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
REF_PREFIX = "refs/agentshell/"
ADD_BY_NAME = 500  # more changed paths than this: one whole-tree add is faster than matching each name
# What the shadow repository must never change, whatever a workspace's .gitattributes says.
ATTRIBUTES = b"* -text -eol -filter -ident -working-tree-encoding -diff -merge\n"


@dataclass(frozen=True)
class Limits:
    """How much a checkpoint may cost. Defaults are measured in benchmarks/checkpoints.py."""

    max_file_bytes: int = 10 * MIB  # larger files are left out and reported as not restorable
    max_files: int = 100_000  # a workspace with more (a home directory) gets no checkpoints
    max_disk_bytes: int = 1024 * MIB  # per workspace; older sessions are pruned beyond it
    keep_days: float = 30.0  # sessions untouched for longer are pruned


@dataclass(frozen=True)
class Snapshot:
    commit: str
    files: str  # tree id of the workspace's files
    manifest: Manifest


@dataclass(frozen=True)
class Entry:
    mode: str  # git mode: 100644, 100755, 120000 (symlink), 160000 (nested repository)
    blob: str


def shadow_dir(workspace: Path, root: Path) -> Path:
    """``root/checkpoints/<name>-<hash>``: readable by a person, unique per resolved workspace path."""
    text = os.fsencode(str(workspace))
    digest = hashlib.sha256(text).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]", "_", workspace.name)[:40] or "root"
    return root / "checkpoints" / f"{name}-{digest}"


class ShadowRepo:
    def __init__(self, workspace: Path, directory: Path, limits: Limits | None = None) -> None:
        self.workspace = workspace
        self.dir = directory
        self.limits = limits or Limits()
        self.git = Git(directory / "git", workspace, directory / "index")
        self._last_manifest: tuple[bytes, str] | None = None
        self._roots: dict[tuple[str, str], str] = {}
        self._snapshots: dict[str, Snapshot] = {}
        self._listings: dict[str, dict[str, Entry]] = {}
        self._trees: dict[str, str] = {}  # commit -> root tree
        self._last_tree: tuple[tuple[int, int, int], str] | None = None  # (index stat, its tree)
        self._tracked: tuple[str, dict[str, str], set[str]] | None = None  # (files tree, paths -> modes, dirs)

    # ------------------------------------------------------------------ set-up

    @classmethod
    def open(cls, workspace: Path, data_root: Path, limits: Limits | None = None) -> ShadowRepo:
        """The shadow repository of ``workspace``, created on first use."""
        workspace = workspace.resolve()
        repo = cls(workspace, shadow_dir(workspace, data_root), limits)
        repo._create(data_root)
        return repo

    def _create(self, data_root: Path) -> None:
        git_dir = self.dir / "git"
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not (git_dir / "HEAD").is_file():
                env = {k: v for k, v in self.git.env.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
                done = subprocess.run(
                    [self.git.binary, "init", "-q", "--bare", str(git_dir)],
                    env=env,
                    cwd=self.dir,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    check=False,
                )
                if done.returncode != 0:
                    raise GitFailed(f"cannot create the checkpoint repository in {git_dir}")
                with contextlib.suppress(OSError):
                    for hook in (git_dir / "hooks").iterdir():  # samples only, but nothing runs from here
                        hook.unlink()
            info = git_dir / "info"
            info.mkdir(exist_ok=True)
            _write_if_changed(info / "attributes", ATTRIBUTES)
            _write_if_changed(info / "exclude", self._own_exclusions(data_root))
            _write_if_changed(self.dir / "workspace", os.fsencode(str(self.workspace)) + b"\n")
        except OSError as exc:
            raise CheckpointError(f"cannot create the checkpoint repository in {self.dir}: {exc.strerror}") from exc

    def _own_exclusions(self, data_root: Path) -> bytes:
        """agentshell's own data, when it lives inside the workspace (a workspace that is the home directory)."""
        try:
            rel = data_root.resolve().relative_to(self.workspace)
        except ValueError:
            return b""
        return (ignore_pattern(rel.as_posix()) + "/\n").encode() if str(rel) != "." else b""

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialize writers: two agents in one workspace, or an agent and ``agent rewind``."""
        fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._remove_stale_git_locks()
            yield
        finally:
            os.close(fd)

    def _remove_stale_git_locks(self) -> None:
        """Holding our lock, no git of ours runs: a lock file left is from one killed mid-write (SIGKILL)."""
        stale = [self.dir / "index.lock", self.dir / "git" / "packed-refs.lock", self.dir / "git" / "HEAD.lock"]
        with contextlib.suppress(OSError):
            stale += [e for e in (self.dir / "git" / "refs" / "agentshell").iterdir() if e.name.endswith(".lock")]
        for path in stale:
            with contextlib.suppress(OSError):
                path.unlink()

    # ------------------------------------------------------------------ taking a checkpoint

    def snapshot(self, ref: str, message: str = "checkpoint") -> Snapshot:
        """Commit the workspace as it is now on ``refs/agentshell/<ref>``; call under :meth:`locked`.

        One walk of the work tree (``ls-files``) finds what changed since the last checkpoint; only
        those paths are added, and when nothing changed git is not asked to write anything.
        """
        try:
            return self._snapshot(ref, message)
        except GitFailed:  # what this process remembers may be stale (another one pruned): once more, from scratch
            self._forget()
            return self._snapshot(ref, message)

    def _forget(self) -> None:
        self._last_manifest, self._last_tree, self._tracked = None, None, None
        self._roots.clear()
        self._trees.clear()

    def _snapshot(self, ref: str, message: str) -> Snapshot:
        changed, skipped, untrack = self._survey()
        if changed:
            done = self._add(changed)
            for path in _unreadable(done.stderr) if done.returncode else ():
                skipped.setdefault(path, Skipped("unreadable"))
                untrack.add(path)
        if untrack:  # tracked files now too large or unreadable
            body = b"".join(os.fsencode(p) + b"\0" for p in sorted(untrack))
            self.git.run("update-index", "-z", "--force-remove", "--stdin", input=body)
        files = self._write_tree(bool(changed or untrack))
        tracked, dirs = self._index_paths(files)
        perms, empty = scan(self.workspace, tracked, dirs, skipped)
        if empty:
            empty -= self._ignored(empty)
        manifest = Manifest(perms=perms, empty_dirs=empty, skipped=skipped)
        root = self._root(files, manifest)
        commit = self._commit(ref, root, message)
        snap = Snapshot(commit, files, manifest)
        self._snapshots[commit] = snap
        return snap

    def _survey(self) -> tuple[list[str], dict[str, Skipped], set[str]]:
        """(paths to add, paths left out and why, tracked paths to drop from the index).

        New, changed and deleted files come from one ``ls-files`` against the shadow index (its stat
        cache). Files over the size limit and nested repositories are left out, and written where a
        whole-tree ``git add`` reads its exclusions.
        """
        listing = self.git.run("ls-files", "-z", "-t", "-o", "-m", "--exclude-standard").stdout
        entries = [(raw[:1], os.fsdecode(raw[2:])) for raw in listing.split(b"\0") if raw]
        if len(entries) > self.limits.max_files:
            raise CheckpointError(
                f"{self.workspace} has more than {self.limits.max_files:,} files: checkpoints are off here"
            )
        changed: list[str] = []
        skipped: dict[str, Skipped] = {}
        untrack: set[str] = set()
        for tag, name in entries:
            if name.endswith("/"):
                skipped[name[:-1]] = Skipped("a nested git repository")
                continue
            try:
                st = os.lstat(self.workspace / name)
            except OSError:
                changed.append(name)  # deleted: the add takes it out of the index
                continue
            if stat.S_ISREG(st.st_mode) and st.st_size > self.limits.max_file_bytes:
                reason = f"too large ({st.st_size / MIB:.1f} MiB, the limit is {self.limits.max_file_bytes // MIB} MiB)"
                skipped[name] = Skipped(reason, st.st_size, st.st_mtime_ns)
                if tag != b"?":
                    untrack.add(name)
            else:
                changed.append(name)
        untrack.update(p for p in skipped if "\n" in p or "\r" in p)  # no ignore pattern can name them
        patterns = "".join(ignore_pattern(p) + ("/" if s.reason.startswith("a nested") else "") + "\n"
                           for p, s in sorted(skipped.items()) if "\n" not in p and "\r" not in p)  # fmt: skip
        _write_if_changed(self.dir / "left-out", patterns.encode("utf-8", "surrogateescape"))
        return changed, skipped, untrack

    def _add(self, paths: list[str]) -> subprocess.CompletedProcess[bytes]:
        """``git add`` of exactly ``paths`` (deletions included); of the whole tree when they are many, since git
        matches each file against every path given."""
        config = {"core.excludesFile": str(self.dir / "left-out")}
        if len(paths) > ADD_BY_NAME:
            return self.git.run("add", "-A", "--ignore-errors", config=config, ok=(0, 1))
        body = b"".join(os.fsencode(p) + b"\0" for p in paths)
        done = self.git.run(
            "add", "-A", "--ignore-errors", "--pathspec-from-file=-", "--pathspec-file-nul",
            input=body, config=config, ok=(0, 1, 128),
        )  # fmt: skip
        if done.returncode == 128:  # a path git refuses by name ("beyond a symbolic link"): the whole tree then
            return self.git.run("add", "-A", "--ignore-errors", config=config, ok=(0, 1))
        return done

    def _write_tree(self, index_changed: bool) -> str:
        """The index as a tree; when nothing was added and no other process wrote the index, the last one."""
        try:
            st = os.stat(self.dir / "index")
            stamp: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if not index_changed and stamp is not None and self._last_tree is not None and self._last_tree[0] == stamp:
            return self._last_tree[1]
        files = self.git.out("write-tree")
        try:
            st = os.stat(self.dir / "index")
            self._last_tree = ((st.st_mtime_ns, st.st_size, st.st_ino), files)
        except OSError:
            self._last_tree = None
        return files

    def tracked(self, files: str) -> dict[str, str]:
        """path -> git mode of everything in the files tree ``files`` (what the index holds after the last add)."""
        return self._index_paths(files)[0]

    def _index_paths(self, files: str) -> tuple[dict[str, str], set[str]]:
        if self._tracked is None or self._tracked[0] != files:
            out: dict[str, str] = {}
            for record in self.git.run("ls-files", "-z", "-s").stdout.split(b"\0"):
                if record:
                    meta, _, path = record.partition(b"\t")
                    out[os.fsdecode(path)] = meta.split(b" ", 1)[0].decode()
            self._tracked = (files, out, directories_of(out))
        return self._tracked[1], self._tracked[2]

    def _ignored(self, dirs: Iterable[str]) -> set[str]:
        body = b"".join(os.fsencode(d) + b"\0" for d in dirs)
        done = self.git.run("check-ignore", "-z", "--stdin", "--no-index", input=body, ok=(0, 1), literal=False)
        return {os.fsdecode(raw) for raw in done.stdout.split(b"\0") if raw}

    def _root(self, files: str, manifest: Manifest) -> str:
        data = manifest.to_bytes()
        if self._last_manifest is not None and self._last_manifest[0] == data:
            blob = self._last_manifest[1]
        else:
            blob = self.git.out("hash-object", "-w", "--stdin", input=data)
            self._last_manifest = (data, blob)
        key = (files, blob)
        if key not in self._roots:
            listing = f"040000 tree {files}\tfiles\n100644 blob {blob}\tmanifest.json\n".encode()
            self._roots[key] = self.git.out("mktree", input=listing)
        return self._roots[key]

    def _commit(self, ref: str, root: str, message: str) -> str:
        full = REF_PREFIX + ref
        parent = self._ref(full)
        if parent is not None and self._tree_of(parent) == root:
            return parent
        args = ["commit-tree", root, "-m", message] + (["-p", parent] if parent else [])
        commit = self.git.out(*args)
        self.git.run("update-ref", full, commit, *([parent] if parent else []))
        self._trees[commit] = root
        return commit

    def _ref(self, full: str) -> str | None:
        """Where a ref points now; read fresh each time (``agent rewind`` in another process commits on it too)."""
        try:
            text = (self.dir / "git" / full).read_text().strip()
            if re.fullmatch(r"[0-9a-f]{40,64}", text):
                return text
        except OSError:
            pass
        found = self.git.run("rev-parse", "-q", "--verify", f"{full}^{{commit}}", ok=(0, 1)).stdout  # packed by gc
        return found.decode().strip() or None

    def _tree_of(self, commit: str) -> str:
        if commit not in self._trees:
            self._trees[commit] = self.git.out("rev-parse", f"{commit}^{{tree}}")
        return self._trees[commit]

    # ------------------------------------------------------------------ reading checkpoints back

    def load(self, commit: str) -> Snapshot:
        """The checkpoint ``commit`` (a full id or a unique prefix); CheckpointError if it is not here."""
        if commit in self._snapshots:
            return self._snapshots[commit]
        done = self.git.run("ls-tree", "-z", f"{commit}^{{commit}}", ok=(0, 128))
        if done.returncode:
            raise CheckpointError(f"no checkpoint {commit[:12]} in this workspace (it may have been pruned)")
        full = self.git.out("rev-parse", f"{commit}^{{commit}}")
        files, blob = EMPTY_TREE, ""
        for record in done.stdout.split(b"\0"):
            meta, _, name = record.partition(b"\t")
            if name == b"files":
                files = meta.split()[2].decode()
            elif name == b"manifest.json":
                blob = meta.split()[2].decode()
        manifest = Manifest.from_bytes(self.git.run("cat-file", "blob", blob).stdout) if blob else Manifest()
        snap = Snapshot(full, files, manifest)
        self._snapshots[full] = snap
        return snap

    def resolve(self, prefix: str) -> str:
        """A full commit id for a unique prefix of at least 7 hex digits."""
        if not re.fullmatch(r"[0-9a-f]{7,40}", prefix):
            raise CheckpointError(f"{prefix!r} is not a checkpoint id (7 to 40 hex digits)")
        done = self.git.run("rev-parse", "-q", "--verify", f"{prefix}^{{commit}}", ok=(0, 1, 128))
        if done.returncode:
            raise CheckpointError(f"no checkpoint {prefix} in this workspace (it may have been pruned)")
        return done.stdout.decode().strip()

    def listing(self, files: str) -> dict[str, Entry]:
        """Every path of a files tree; cached per tree."""
        if files not in self._listings:
            out: dict[str, Entry] = {}
            for record in self.git.run("ls-tree", "-r", "-z", "--full-tree", files).stdout.split(b"\0"):
                if record:
                    meta, _, path = record.partition(b"\t")
                    mode, _, blob = meta.decode().split(" ")
                    out[os.fsdecode(path)] = Entry(mode, blob)
            if len(self._listings) > 8:
                self._listings.pop(next(iter(self._listings)))
            self._listings[files] = out
        return self._listings[files]

    def changed(self, a: Snapshot, b: Snapshot) -> set[str]:
        """Paths that differ between two checkpoints (directories that appeared or vanished empty end in "/")."""
        paths = a.manifest.changed_paths(b.manifest)
        if a.files != b.files:
            out = self.git.run("diff-tree", "-r", "-z", "--name-only", "--no-renames", a.files, b.files).stdout
            paths.update(os.fsdecode(raw) for raw in out.split(b"\0") if raw)
        return paths

    def blobs(self, ids: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """(id, content) for each blob, from one ``cat-file --batch``."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return
        proc = self.git.popen("cat-file", "--batch")
        assert proc.stdin is not None and proc.stdout is not None
        try:
            for blob in wanted:
                proc.stdin.write(blob.encode() + b"\n")
                proc.stdin.flush()
                header = proc.stdout.readline().split()
                if len(header) != 3:
                    raise CheckpointError(f"checkpoint data {blob[:12]} is missing (was the repository pruned?)")
                data = _read_exact(proc.stdout, int(header[2]))
                proc.stdout.read(1)  # the newline after each object
                yield blob, data
        finally:
            proc.stdin.close()
            proc.stdout.close()
            proc.wait()

    def disk_bytes(self) -> int:
        out = self.git.out("count-objects", "-v")
        kib = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        return (int(kib.get("size", "0")) + int(kib.get("size-pack", "0"))) * 1024

    def delete_refs(self, refs: Iterable[str]) -> None:
        body = "".join(f"delete {REF_PREFIX}{ref}\n" for ref in refs).encode()
        if body:
            self.git.run("update-ref", "--stdin", input=body)

    def collect_garbage(self) -> None:
        """Drop what no ref reaches any more; call under :meth:`locked` (a snapshot's loose objects are unreferenced
        until its commit is made)."""
        self.git.run("reflog", "expire", "--expire=now", "--all")
        self.git.run("gc", "--quiet", "--prune=now")


def ignore_pattern(path: str) -> str:
    """A .gitignore line that matches exactly ``path`` from the work tree's root."""
    escaped = re.sub(r"([\\*?\[\]!# ])", r"\\\1", path)
    return "/" + escaped


def _write_if_changed(path: Path, data: bytes) -> None:
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


_UNREADABLE = re.compile(rb"^error: (?:unable to index file '(.*)'|open\(\"(.*)\"\): .*)$", re.MULTILINE)


def _unreadable(stderr: bytes) -> set[str]:
    return {os.fsdecode(m.group(1) or m.group(2)) for m in _UNREADABLE.finditer(stderr)}


def _read_exact(stream: IO[bytes], size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise CheckpointError("the checkpoint repository stopped answering")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
