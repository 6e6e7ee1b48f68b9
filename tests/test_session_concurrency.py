"""Agents running at the same time in one workspace: separate sessions, and a resumable session goes to only one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentshell.protocol import Message
from agentshell.session import SessionStore

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from agentshell.protocol import Message
    from agentshell.session import SessionStore
    root, ws, tag, go = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.01)
    with SessionStore(root).create(ws) as s:
        for i in range(40):
            s.append(Message(role="user", content=f"{tag} {i}"), backend="b", model=tag)
        print(s.id, flush=True)
    """
)

CONTINUER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from agentshell.session import SessionStore
    root, ws, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.005)
    s = SessionStore(root).latest(ws)
    print(s.id if s else "none", flush=True)
    time.sleep(1.5)  # keep holding it while the others try
    """
)


def _run_together(code: str, args: list[list[str]], go: Path) -> list[str]:
    procs = [
        subprocess.Popen([sys.executable, "-c", code, *a], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for a in args
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    go.touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outs.append(out.strip())
    return outs


@pytest.mark.slow
def test_concurrent_agents_in_one_workspace_get_separate_sessions(tmp_path: Path) -> None:
    root, ws, go = tmp_path / "sessions", tmp_path / "ws", tmp_path / "go"
    ws.mkdir()
    tags = [f"agent{k}" for k in range(4)]
    ids = _run_together(WRITER, [[str(root), str(ws), tag, str(go)] for tag in tags], go)
    assert len(set(ids)) == 4
    store = SessionStore(root)
    for tag, sid in zip(tags, ids, strict=True):
        with store.load(sid) as s:
            assert [m.content for m in s.messages] == [f"{tag} {i}" for i in range(40)]
            assert s.warnings == []


@pytest.mark.slow
def test_only_one_of_several_racing_continues_gets_the_session(tmp_path: Path) -> None:
    root, ws, go = tmp_path / "sessions", tmp_path / "ws", tmp_path / "go"
    ws.mkdir()
    with SessionStore(root).create(ws) as s:
        s.append(Message(role="user", content="resume me"), backend="b", model="m")
    outs = _run_together(CONTINUER, [[str(root), str(ws), str(go)] for _ in range(4)], go)
    assert sorted(outs) == sorted([s.id, "none", "none", "none"]), outs
