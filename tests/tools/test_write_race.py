"""A directory swapped for a symlink while the file tools work: nothing is ever written or read outside.

Another process swaps ``ws/d`` between a real directory and a link to a directory outside the
workspace as fast as it can, while accept-edits calls write, edit and read ``d/f.txt`` through the
real runner and gate. The gate judges ``d/f.txt`` inside whenever ``d`` is a directory at that
moment; the write must then land inside or fail, never follow the link (issue 15, hole 6).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentshell.permissions.gate import PermissionGate
from agentshell.tools import ToolContext, ToolRunner, default_tools
from agentshell.workspace import PathChanged, open_resolved

ATTEMPTS = 300

SWAPPER = r"""
import os, random, shutil, sys, time
ws, outside = sys.argv[1], sys.argv[2]
d, hold = os.path.join(ws, "d"), os.path.join(ws, "d.real")
print("ready", flush=True)
while not os.path.exists(os.path.join(ws, "stop")):
    try:
        os.rename(d, hold)
        os.symlink(outside, d)
        time.sleep(random.random() * 0.0002)
        os.unlink(d)
        os.rename(hold, d)
        time.sleep(random.random() * 0.0004)  # a directory most of the time: the gate often judges inside
    except OSError:  # the tool recreated d in the gap (it makes missing parents): start over from a directory
        while os.path.isdir(hold):
            if os.path.islink(d):
                os.unlink(d)
            shutil.rmtree(d, ignore_errors=True)
            try:
                os.rename(hold, d)
            except OSError:
                pass
"""


@pytest.fixture
def race(tmp_path: Path) -> Iterator[tuple[Path, Path, subprocess.Popen[str]]]:
    root = Path(os.path.realpath(tmp_path))
    ws, outside = root / "ws", root / "outside"
    (ws / "d").mkdir(parents=True)
    outside.mkdir()
    (ws / "d" / "f.txt").write_text("inside\n")
    (outside / "secret.txt").write_text("outside secret\n")
    swapper = subprocess.Popen(
        [sys.executable, "-c", SWAPPER, str(ws), str(outside)], stdout=subprocess.PIPE, text=True
    )
    assert swapper.stdout is not None and swapper.stdout.readline().strip() == "ready"
    yield ws, outside, swapper
    (ws / "stop").touch()
    swapper.wait(timeout=10)


def test_a_directory_swapped_for_a_link_never_gets_a_write_outside(
    race: tuple[Path, Path, subprocess.Popen[str]],
) -> None:
    ws, outside, swapper = race
    runner = ToolRunner(default_tools(), ToolContext(ws), PermissionGate("accept-edits", ws))
    written = 0
    for i in range(ATTEMPTS):
        if i % 3 == 0:
            result = runner.execute("write_file", {"path": "d/f.txt", "content": f"x{i}\n"})
        elif i % 3 == 1:
            result = runner.execute("edit_file", {"path": "d/f.txt", "old_string": "\n", "new_string": "!\n"})
        else:
            result = runner.execute("read_file", {"path": "d/secret.txt"})
            assert "outside secret" not in result.output, f"attempt {i} read outside: {result.output}"
        written += not result.is_error and i % 3 != 2
        assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"], f"attempt {i} wrote outside"
        assert (outside / "secret.txt").read_text() == "outside secret\n"
    assert swapper.poll() is None, "the swapper stopped early: the test raced nothing"
    assert written > 0, "no write succeeded: the race test did not exercise the writes"


def test_open_resolved_refuses_a_link_where_the_check_saw_a_directory(tmp_path: Path) -> None:
    root = Path(os.path.realpath(tmp_path))
    (root / "ws").mkdir()
    (root / "outside").mkdir()
    target = root / "ws" / "d" / "f.txt"
    fd, created = open_resolved(target, os.O_WRONLY | os.O_CREAT, make_parents=True)
    os.close(fd)
    assert created and target.exists()
    target.unlink()
    (root / "ws" / "d").rmdir()
    os.symlink(root / "outside", root / "ws" / "d")
    with pytest.raises(PathChanged):
        open_resolved(target, os.O_WRONLY | os.O_CREAT, make_parents=True)
    os.symlink(root / "outside" / "g.txt", root / "ws" / "g.txt")  # a link as the file itself
    with pytest.raises(PathChanged):
        open_resolved(root / "ws" / "g.txt", os.O_WRONLY | os.O_CREAT)
    assert not list((root / "outside").iterdir())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="names open files through /proc")
def test_open_resolved_notices_a_directory_moved_meanwhile(tmp_path: Path) -> None:
    """A directory renamed away between the check and the open keeps its descriptor: the name check catches it."""
    root = Path(os.path.realpath(tmp_path))
    (root / "ws" / "d").mkdir(parents=True)
    (root / "ws" / "d").rename(root / "elsewhere")
    (root / "ws" / "d").mkdir()
    fd, _ = open_resolved(root / "ws" / "d" / "f.txt", os.O_WRONLY | os.O_CREAT)  # the new d: fine
    os.close(fd)
    with pytest.raises(PathChanged):
        _open_through_moved_directory(root)
    assert not (root / "moved" / "g.txt").exists()  # created, noticed, removed


def _open_through_moved_directory(root: Path) -> None:
    """Enter ws/d, then move it out of the workspace before the file is opened in it."""
    import agentshell.workspace as workspace

    real_open_file = workspace._open_file

    def move_first(parent: int, name: str, flags: int, mode: int) -> tuple[int, bool]:
        os.rename(root / "ws" / "d", root / "moved")
        return real_open_file(parent, name, flags, mode)

    workspace._open_file = move_first
    try:
        workspace.open_resolved(root / "ws" / "d" / "g.txt", os.O_WRONLY | os.O_CREAT)
    finally:
        workspace._open_file = real_open_file
    raise AssertionError("the moved directory was written into")


def test_without_directory_descriptors_the_name_is_checked_after_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no openat: there the path is opened by name and must still resolve to what was judged."""
    import agentshell.workspace as workspace

    monkeypatch.setattr(workspace, "_WALKS", False)
    root = Path(os.path.realpath(tmp_path))
    (root / "outside").mkdir()
    (root / "outside" / "f.txt").write_text("outside\n")
    fd, created = open_resolved(root / "ws" / "d" / "f.txt", os.O_WRONLY | os.O_CREAT, make_parents=True)
    os.close(fd)
    assert created
    (root / "ws" / "d" / "f.txt").unlink()
    (root / "ws" / "d").rmdir()
    os.symlink(root / "outside", root / "ws" / "d")
    with pytest.raises(PathChanged):
        open_resolved(root / "ws" / "d" / "f.txt", os.O_WRONLY)
    assert (root / "outside" / "f.txt").read_text() == "outside\n"
