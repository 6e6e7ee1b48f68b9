"""The shadow repository: what a checkpoint captures, what it leaves out and says so, and that nothing steers git."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from agentshell.checkpoints.recorder import Checkpointer
from agentshell.checkpoints.shadow import MIB, ShadowRepo, shadow_dir
from tests.checkpoints.support import agent_call, open_checkpointer, store_of, tree_digest


def git(*args: str, cwd: Path) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def snapshot(workspace: Path, data: Path, **limits: int) -> tuple[ShadowRepo, object]:
    from agentshell.checkpoints.shadow import Limits

    repo = ShadowRepo.open(workspace, data, Limits(**limits))
    with repo.locked():
        return repo, repo.snapshot("test")


def test_captures_bytes_links_modes_and_empty_directories(tmp_path: Path) -> None:
    ws, data = tmp_path / "ws", tmp_path / "data"
    (ws / "src" / "deep").mkdir(parents=True)
    (ws / "src" / "deep" / "a.py").write_text("print(1)\n")
    (ws / "blob.bin").write_bytes(bytes(range(256)) * 4)
    (ws / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(ws / "run.sh", 0o750)
    os.symlink("/etc/passwd", ws / "outside-link")
    (ws / "empty" / "inner").mkdir(parents=True)
    repo, snap = snapshot(ws, data)
    listing = repo.listing(snap.files)  # type: ignore[attr-defined]
    assert set(listing) == {"src/deep/a.py", "blob.bin", "run.sh", "outside-link"}
    assert listing["outside-link"].mode == "120000"  # the link itself, never what it points to
    assert listing["run.sh"].mode == "100755"
    manifest = snap.manifest  # type: ignore[attr-defined]
    assert manifest.perms == {"run.sh": 0o750}
    assert manifest.empty_dirs == {"empty/inner"}
    blob = dict(repo.blobs([listing["blob.bin"].blob]))[listing["blob.bin"].blob]
    assert blob == bytes(range(256)) * 4


def test_gitignore_large_files_and_nested_repositories_are_left_out_and_reported(tmp_path: Path) -> None:
    ws, data = tmp_path / "ws", tmp_path / "data"
    (ws / "build").mkdir(parents=True)
    (ws / ".gitignore").write_text("build/\n*.log\n")
    (ws / "build" / "out.o").write_bytes(b"\0" * 10)
    (ws / "x.log").write_text("log\n")
    (ws / "big.iso").write_bytes(b"\0" * (2 * MIB))
    (ws / "vendor" / "lib").mkdir(parents=True)
    git("init", "-q", ".", cwd=ws / "vendor" / "lib")
    (ws / "vendor" / "lib" / "code.c").write_text("int x;\n")
    (ws / "keep.txt").write_text("keep\n")
    notes: list[str] = []
    checkpointer = open_checkpointer(ws, data, notes, max_file_bytes=MIB)
    checkpointer.begin_request("s", "go")
    agent_call(checkpointer, lambda: None)
    store = store_of(checkpointer)
    snap = store.repo.load(store.timeline.records()[-1].before or "")
    assert set(store.repo.listing(snap.files)) == {".gitignore", "keep.txt"}
    assert set(snap.manifest.skipped) == {"big.iso", "vendor/lib"}
    assert len(notes) == 1 and "big.iso: too large (2.0 MiB" in notes[0] and "vendor/lib: a nested git" in notes[0]
    agent_call(checkpointer, lambda: None)
    assert len(notes) == 1  # said once


def test_no_git_repository_needed_and_the_users_git_is_never_touched(tmp_path: Path) -> None:
    ws, data = tmp_path / "ws", tmp_path / "data"
    ws.mkdir()
    (ws / "a.txt").write_text("a\n")
    _, plain = snapshot(ws, data)  # no .git at all
    assert plain.commit  # type: ignore[attr-defined]
    git("init", "-q", ".", cwd=ws)
    git("add", "a.txt", cwd=ws)
    git("-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "-m", "one", cwd=ws)
    (ws / "b.txt").write_text("b\n")
    before = tree_digest(ws / ".git")
    checkpointer = open_checkpointer(ws, data)
    checkpointer.begin_request("s", "go")
    agent_call(checkpointer, lambda: (ws / "a.txt").write_text("changed\n"))
    from agentshell.checkpoints import rewind as rw

    store = store_of(checkpointer)
    rw.rewind(store, rw.find_target(store.timeline.records(), "s", None), session="s")
    assert (ws / "a.txt").read_text() == "a\n"
    assert tree_digest(ws / ".git") == before
    assert git("status", "--porcelain", cwd=ws) == "?? b.txt\n"
    assert ".git/" not in {
        p for p in store.repo.listing(store.repo.load(store.timeline.records()[-1].after or "").files)
    }


def test_a_hostile_workspace_and_environment_run_nothing_through_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, data, home = tmp_path / "ws", tmp_path / "data", tmp_path / "home"
    ws.mkdir()
    home.mkdir()
    pwned = tmp_path / "pwned"
    evil = f"touch {pwned}"
    git("init", "-q", ".", cwd=ws)
    with open(ws / ".git" / "config", "a") as f:
        f.write(f'[core]\n\tfsmonitor = "{evil}"\n\thooksPath = hooks\n[filter "x"]\n\tclean = "{evil}"\n')
    (ws / "hooks").mkdir()
    for hook in ("pre-commit", "post-commit", "post-index-change", "reference-transaction"):
        (ws / "hooks" / hook).write_text(f"#!/bin/sh\n{evil}\n")
        os.chmod(ws / "hooks" / hook, 0o755)
    (ws / ".gitattributes").write_text("* filter=x text eol=crlf\n")
    (ws / "dos.txt").write_bytes(b"one\r\ntwo\n")
    (home / ".gitconfig").write_text(f'[filter "x"]\n\tclean = "{evil}"\n[core]\n\tfsmonitor = "{evil}"\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'filter.x.clean'='{evil}' 'core.fsmonitor'='{evil}'")
    monkeypatch.setenv("GIT_DIR", str(ws / ".git"))
    monkeypatch.setenv("GIT_EXTERNAL_DIFF", evil)
    checkpointer = open_checkpointer(ws, data)
    checkpointer.begin_request("s", "go")
    agent_call(checkpointer, lambda: (ws / "dos.txt").write_bytes(b"three\r\n"))
    assert not pwned.exists()
    repo = store_of(checkpointer).repo
    first = repo.load(store_of(checkpointer).timeline.records()[-1].before or "")
    entry = repo.listing(first.files)["dos.txt"]
    assert dict(repo.blobs([entry.blob]))[entry.blob] == b"one\r\ntwo\n"  # bytes as they were: no eol conversion
    assert not (ws / ".git" / "refs" / "agentshell").exists()


def test_without_git_one_warning_and_the_agent_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    notes: list[str] = []
    checkpointer = Checkpointer.open(tmp_path, notes.append, data_root=tmp_path / "data")
    assert not checkpointer.enabled
    assert notes == ["warning: git was not found on PATH: file checkpoints (/undo, agent rewind) are off"]
    executor = object()
    assert checkpointer.guard(executor) is executor  # type: ignore[arg-type]
    assert checkpointer.begin_request("s", "go") == 0
    assert not shadow_dir(tmp_path.resolve(), tmp_path / "data").exists()


def test_a_workspace_with_too_many_files_turns_checkpoints_off(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    for i in range(30):
        (ws / f"f{i}").write_text("x")
    notes: list[str] = []
    checkpointer = open_checkpointer(ws, tmp_path / "data", notes, max_files=20)
    checkpointer.begin_request("s", "go")
    assert checkpointer.before_call("bash") is None
    assert not checkpointer.enabled
    assert "more than 20 files: checkpoints are off here" in notes[-1]


def test_one_shadow_per_workspace_under_the_data_directory(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "proj", tmp_path / "b" / "proj"
    assert shadow_dir(a, tmp_path / "d") != shadow_dir(b, tmp_path / "d")
    assert shadow_dir(a, tmp_path / "d").parent == tmp_path / "d" / "checkpoints"
    assert shadow_dir(a, tmp_path / "d").name.startswith("proj-")


def test_a_git_lock_left_by_a_killed_checkpoint_does_not_stop_the_next_one(tmp_path: Path) -> None:
    ws, data = tmp_path / "ws", tmp_path / "data"
    ws.mkdir()
    (ws / "a.txt").write_text("a\n")
    notes: list[str] = []
    checkpointer = open_checkpointer(ws, data, notes)
    checkpointer.begin_request("s", "go")
    agent_call(checkpointer, lambda: None)
    repo = store_of(checkpointer).repo
    (repo.dir / "index.lock").write_text("")  # what `git add` leaves when killed with SIGKILL
    (repo.dir / "git" / "refs" / "agentshell" / "s.lock").write_text("")
    agent_call(checkpointer, lambda: (ws / "a.txt").write_text("b\n"))
    assert checkpointer.enabled and notes == []
    assert store_of(checkpointer).timeline.records()[-1].changed == ("a.txt",)
