"""What a checkpoint costs: time per checkpoint and disk use, on this repository and on a 10,000-file tree.

Every figure comes with a reference measured in the same run, so the ratio holds on any
machine and filesystem:

* ``git add -A`` + ``git write-tree`` into a plain repository (its own GIT_DIR and index,
  the same work tree): the least any git-based snapshot can cost;
* a plain copy of the files (``shutil.copytree``, .git left out): the naive alternative.

Measured per workspace: the first checkpoint (every file is read and hashed), a checkpoint
when nothing changed (the usual case before a tool call), one after 10 files changed, one
tool call's whole overhead (a checkpoint before and one after), a rewind of those 10 files,
and the shadow repository's size on disk. This repository is only read: its rows measure
what changed nothing.

    uv run python benchmarks/checkpoints.py [--files 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agentshell.checkpoints import rewind as rw
from agentshell.checkpoints.gitcmd import clean_environment
from agentshell.checkpoints.recorder import Checkpointer

REPO = Path(__file__).resolve().parents[1]


def median_seconds(action: Callable[[], object], repeat: int, prepare: Callable[[], object] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        prepare()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_tree(root: Path, files: int) -> None:
    """``files`` source-like files of 200 B to 8 KiB in 100 directories, plus a .gitignore'd build folder."""
    for i in range(files):
        directory = root / f"pkg{i % 100:02}" / f"sub{i % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        size = 200 + (i * 7919) % 8000
        (directory / f"module_{i}.py").write_bytes((f"# file {i}\n" + "x = 1\n" * (size // 6)).encode())
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "build" / "artifact.o").write_bytes(b"\0" * 1000)


class PlainGit:
    """The reference: the same work tree added to an ordinary repository, nothing else."""

    def __init__(self, workspace: Path, scratch: Path) -> None:
        self.git_dir, self.index = scratch / "plain.git", scratch / "plain.index"
        self.env = clean_environment(self.git_dir, workspace, self.index)
        self.workspace = workspace
        self.reset()

    def reset(self) -> None:
        """A fresh repository and index: the next add reads and hashes every file, as a first checkpoint does."""
        shutil.rmtree(self.git_dir, ignore_errors=True)
        self.index.unlink(missing_ok=True)
        subprocess.run(["git", "init", "-q", "--bare", str(self.git_dir)], check=True, capture_output=True)

    def add(self) -> None:
        for args in (["add", "-A"], ["write-tree"]):
            subprocess.run(["git", *args], cwd=self.workspace, env=self.env, check=True, capture_output=True)


def copy_tree(workspace: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(workspace, target, symlinks=True, ignore=shutil.ignore_patterns(".git", ".venv"))


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(name: str, workspace: Path, scratch: Path, repeat: int, *, writable: bool) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    data = scratch / f"{name}-data"
    plain = PlainGit(workspace, scratch)
    notes: list[str] = []

    def first() -> None:
        shutil.rmtree(data, ignore_errors=True)
        checkpointer = Checkpointer.open(workspace, notes.append, data_root=data, prune=False)
        checkpointer.begin_request("bench", "first")
        checkpointer.before_call("bench")

    t_first = median_seconds(first, max(1, repeat // 2))
    t_plain_first = median_seconds(plain.add, max(1, repeat // 2), prepare=plain.reset)
    t_copy = median_seconds(lambda: copy_tree(workspace, scratch / "copy"), max(1, repeat // 2))
    rows.append((f"{name}: first checkpoint ({{files:,}} files)", _vs(t_first, t_plain_first, t_copy)))

    checkpointer = Checkpointer.open(workspace, notes.append, data_root=data, prune=False)
    checkpointer.begin_request("bench", "steady")
    store = checkpointer.store
    assert store is not None
    files = store.repo.tracked(store.repo.git.out("write-tree"))
    rows[0] = (rows[0][0].format(files=len(files)), rows[0][1])

    def one_snapshot() -> None:
        with store.repo.locked():
            store.repo.snapshot("bench")

    plain.add()
    t_same = median_seconds(one_snapshot, repeat)
    t_plain_same = median_seconds(plain.add, repeat)
    rows.append((f"{name}: checkpoint, nothing changed", _vs(t_same, t_plain_same, t_copy)))

    def call() -> None:
        before = checkpointer.before_call("bench")
        assert before is not None
        checkpointer.after_call("bench", before)

    rows.append(
        (f"{name}: one tool call (before + after)", _vs(median_seconds(call, repeat), 2 * t_plain_same, t_copy))
    )

    if writable:
        targets = sorted(p for p in workspace.rglob("*.py"))[:10]
        counter = iter(range(1_000_000))

        def touch_ten() -> None:
            n = next(counter)
            for path in targets:
                path.write_text(f"# edit {n}\n" + path.read_text())

        t_changed = median_seconds(one_snapshot, repeat, prepare=touch_ten)
        t_plain_changed = median_seconds(plain.add, repeat, prepare=touch_ten)
        rows.append((f"{name}: checkpoint after 10 files changed", _vs(t_changed, t_plain_changed, t_copy)))

        def change_and_rewind() -> None:
            before = checkpointer.before_call("edit")
            assert before is not None
            touch_ten()
            checkpointer.after_call("edit", before)

        def do_rewind() -> None:
            records = store.timeline.records()
            rw.rewind(store, len(records) - 1, session="bench", force=True)

        t_rewind = median_seconds(do_rewind, repeat, prepare=change_and_rewind)
        rows.append((f"{name}: rewind of 10 files", f"{t_rewind * 1000:7.1f} ms"))

    shadow = store.repo.dir
    size = disk_bytes(shadow)
    source = sum((workspace / p).lstat().st_size for p in files)
    rows.append(
        (f"{name}: shadow repository on disk", f"{size / 2**20:7.1f} MiB ({size / max(source, 1):.2f}x the files)")
    )
    if notes:
        rows.append((f"{name}: reported", notes[0][:100]))
    return rows


def _vs(ours: float, git_add: float, copy: float) -> str:
    return f"{ours * 1000:7.1f} ms   {ours / git_add:5.2f}x git add -A   {ours / copy:5.2f}x a plain copy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        tree = scratch / "tree"
        make_tree(tree, args.files)
        (scratch / "repo").mkdir()
        rows += measure("this repository", REPO, scratch / "repo", args.repeat, writable=False)
        (scratch / "gen").mkdir()
        rows += measure(f"{args.files:,}-file tree", tree, scratch / "gen", args.repeat, writable=True)
    width = max(len(label) for label, _ in rows)
    print(f"git {subprocess.run(['git', '--version'], capture_output=True, text=True).stdout.split()[-1]}, "
          f"{os.cpu_count()} CPUs, median of {args.repeat}")  # fmt: skip
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
