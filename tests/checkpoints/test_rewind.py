"""Rewinding through the API: what comes back, what is refused, what is never touched."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from agentshell.checkpoints import rewind as rw
from agentshell.checkpoints.recorder import Checkpointer
from agentshell.checkpoints.shadow import MIB
from tests.checkpoints.support import agent_call, open_checkpointer, store_of, tree_digest


def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "pkg" / "sub").mkdir(parents=True)
    (ws / "main.py").write_text("print('hello')\n")
    (ws / "pkg" / "__init__.py").write_text("")
    (ws / "pkg" / "sub" / "mod.py").write_text("X = 1\n")
    (ws / "notes.txt").write_text("mine\n")
    (ws / "secret.key").write_text("k\n")
    os.chmod(ws / "secret.key", 0o600)
    (ws / "cache").mkdir()
    os.symlink("main.py", ws / "entry")
    return ws


def rewind_last(checkpointer: Checkpointer, session: str = "s", **kw: bool) -> rw.RewindReport:
    store = store_of(checkpointer)
    return rw.rewind(store, rw.find_target(store.timeline.records(), session, None), session=session, **kw)


def test_edit_rm_mv_of_a_directory_and_a_new_binary_file_come_back(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    original = tree_digest(ws)
    checkpointer = open_checkpointer(ws, tmp_path / "data")
    checkpointer.begin_request("s", "refactor")
    agent_call(checkpointer, lambda: (ws / "main.py").write_text("print('bye')\n"), "edit_file")
    agent_call(checkpointer, lambda: os.remove(ws / "secret.key"))
    agent_call(checkpointer, lambda: shutil.move(ws / "pkg", ws / "lib"))
    agent_call(checkpointer, lambda: (ws / "tool.bin").write_bytes(b"\x7fELF\0\1\2\xff"))

    def relink() -> None:
        os.rmdir(ws / "cache")
        os.remove(ws / "entry")
        os.symlink("/etc", ws / "entry")

    agent_call(checkpointer, relink)
    report = rewind_last(checkpointer, dry_run=True)
    assert not report.applied and tree_digest(ws) != original
    assert set(report.restored) == {"main.py", "secret.key", "pkg/__init__.py", "pkg/sub/mod.py", "entry", "cache/"}
    assert set(report.deleted) == {"lib/__init__.py", "lib/sub/mod.py", "tool.bin"}
    report = rewind_last(checkpointer)
    assert report.applied and report.undo
    assert tree_digest(ws) == original  # bytes, modes (0600 kept), the link as a link, the empty directory
    assert os.readlink(ws / "entry") == "main.py"


def test_files_the_agent_did_not_change_are_never_touched(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    checkpointer = open_checkpointer(ws, tmp_path / "data")
    checkpointer.begin_request("s", "one")
    agent_call(checkpointer, lambda: (ws / "new.txt").write_text("agent\n"))
    (ws / "mine.txt").write_text("the user's own new file\n")  # outside the agent, between requests
    (ws / "notes.txt").write_text("edited by the user\n")
    report = rewind_last(checkpointer)
    assert report.deleted == ["new.txt"] and report.restored == []
    assert (ws / "mine.txt").read_text() == "the user's own new file\n"
    assert (ws / "notes.txt").read_text() == "edited by the user\n"


def test_a_user_edit_after_the_checkpoint_is_refused_unless_forced_and_the_forced_rewind_can_be_undone(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path)
    checkpointer = open_checkpointer(ws, tmp_path / "data")
    checkpointer.begin_request("s", "edit")
    agent_call(checkpointer, lambda: (ws / "main.py").write_text("agent\n"), "edit_file")
    agent_call(checkpointer, lambda: (ws / "pkg" / "__init__.py").write_text("agent\n"), "edit_file")
    (ws / "main.py").write_text("the user fixed it by hand\n")
    with pytest.raises(rw.RewindRefused) as refused:
        rewind_last(checkpointer)
    assert refused.value.report.conflicts == ["main.py"]
    assert "main.py" in str(refused.value) and "--force" in str(refused.value)
    assert (ws / "pkg" / "__init__.py").read_text() == "agent\n"  # refused means nothing at all was done
    report = rewind_last(checkpointer, force=True)
    assert (ws / "main.py").read_text() == "print('hello')\n" and (ws / "pkg" / "__init__.py").read_text() == ""
    store = store_of(checkpointer)
    assert report.undo is not None
    rw.rewind(store, rw.find_target(store.timeline.records(), "s", report.undo[:12]), session="s")
    assert (ws / "main.py").read_text() == "the user fixed it by hand\n"
    assert (ws / "pkg" / "__init__.py").read_text() == "agent\n"


def test_an_edit_between_two_tool_calls_is_outside_the_agent(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    checkpointer = open_checkpointer(ws, tmp_path / "data")
    checkpointer.begin_request("s", "two calls")
    agent_call(checkpointer, lambda: (ws / "main.py").write_text("agent 1\n"))
    (ws / "main.py").write_text("user, while the model was thinking\n")
    agent_call(checkpointer, lambda: (ws / "notes.txt").write_text("agent 2\n"))
    with pytest.raises(rw.RewindRefused) as refused:
        rewind_last(checkpointer)
    assert refused.value.report.conflicts == ["main.py"]


def test_a_rewind_never_writes_through_a_symlink_out_of_the_workspace(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("do not touch\n")
    checkpointer = open_checkpointer(ws, tmp_path / "data")
    checkpointer.begin_request("s", "swap")

    def swap() -> None:  # the agent replaces a directory by a link to somewhere else
        shutil.rmtree(ws / "pkg")
        os.symlink(outside, ws / "pkg")

    agent_call(checkpointer, swap)
    rewind_last(checkpointer)
    assert not (ws / "pkg").is_symlink() and (ws / "pkg" / "sub" / "mod.py").read_text() == "X = 1\n"
    assert sorted(p.name for p in outside.iterdir()) == ["precious"]


def test_a_path_under_a_symlink_the_user_made_is_reported_not_followed(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    checkpointer = open_checkpointer(ws, tmp_path / "data")
    checkpointer.begin_request("s", "rm")
    agent_call(checkpointer, lambda: shutil.rmtree(ws / "pkg"))
    os.symlink(outside, ws / "pkg")  # the user, afterwards: not a path the agent changed
    report = rewind_last(checkpointer, force=True)
    assert set(report.not_restored) == {"pkg/__init__.py", "pkg/sub/mod.py"}
    assert "symlink" in report.not_restored["pkg/__init__.py"]
    assert list(outside.iterdir()) == []


def test_a_very_large_file_is_reported_not_restored(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    (ws / "data.bin").write_bytes(b"a" * (MIB + 1))
    checkpointer = open_checkpointer(ws, tmp_path / "data", max_file_bytes=MIB)
    checkpointer.begin_request("s", "big")

    def change() -> None:
        (ws / "data.bin").write_bytes(b"b" * (MIB + 2))
        (ws / "main.py").unlink()

    agent_call(checkpointer, change)
    report = rewind_last(checkpointer)
    assert report.restored == ["main.py"]
    assert report.not_restored["data.bin"].startswith("not in the checkpoint: too large (1.0 MiB")
    assert (ws / "data.bin").stat().st_size == MIB + 2


def test_rewind_across_two_sessions_undoes_both_agents(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    first = open_checkpointer(ws, tmp_path / "data")
    first.begin_request("s1", "first session")
    agent_call(first, lambda: (ws / "main.py").write_text("session one\n"))
    second = open_checkpointer(ws, tmp_path / "data")
    second.begin_request("s2", "second session")
    agent_call(second, lambda: ((ws / "main.py").write_text("session two\n"), (ws / "added.txt").write_text("2\n")))
    store = store_of(second)
    report = rw.rewind(store, rw.find_target(store.timeline.records(), "s1", 1), session="s1")
    assert set(report.restored) == {"main.py"} and report.deleted == ["added.txt"]
    assert (ws / "main.py").read_text() == "print('hello')\n"
    records = store.timeline.records()
    assert rw.latest_session(records) == "s2"
    assert [e.kind for e in rw.history(records, "s1")] == ["request", "rewind"]


def test_history_numbers_every_request_and_lists_the_files_each_changed(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    checkpointer = open_checkpointer(ws, tmp_path / "data")
    assert checkpointer.begin_request("s", "read only", messages=0) == 1
    assert checkpointer.begin_request("s", "write", messages=2) == 2
    agent_call(checkpointer, lambda: (ws / "a.txt").write_text("a\n"))
    agent_call(checkpointer, lambda: (ws / "b.txt").write_text("b\n"))
    again = open_checkpointer(ws, tmp_path / "data")  # a resumed session continues the numbers
    assert again.begin_request("s", "third", messages=6) == 3
    entries = rw.history(store_of(again).timeline.records(), "s")
    assert [(e.request, e.prompt, e.files, e.messages) for e in entries] == [
        (1, "read only", (), 0),
        (2, "write", ("a.txt", "b.txt"), 2),
        (3, "third", (), 6),
    ]
    assert entries[0].checkpoint == entries[1].checkpoint  # nothing changed in request 1: the same point
    assert entries[2].checkpoint is None
    with pytest.raises(rw.RewindTargetError, match="no file changed since request 3"):
        rw.find_target(store_of(again).timeline.records(), "s", 3)
    with pytest.raises(rw.RewindTargetError, match="has no request 9 \\(it has requests 1 to 3\\)"):
        rw.find_target(store_of(again).timeline.records(), "s", 9)


def test_a_second_rewind_to_the_same_point_has_nothing_to_do(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    checkpointer = open_checkpointer(ws, tmp_path / "data")
    checkpointer.begin_request("s", "x")
    agent_call(checkpointer, lambda: (ws / "main.py").write_text("x\n"))
    assert rewind_last(checkpointer).applied
    again = rewind_last(checkpointer)
    assert not again.applied and again.restored == again.deleted == []
