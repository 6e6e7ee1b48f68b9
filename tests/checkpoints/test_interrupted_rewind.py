"""A rewind killed with SIGKILL half-way: `agent rewind` finishes it, `agent rewind --rollback` undoes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.checkpoints.support import agent_call, open_checkpointer, store_of
from tests.cli.launch_support import agent_command, run_agent

FILES = 3000


def prepare(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace where the agent rewrote FILES files; returns it and the shadow's journal path."""
    ws = tmp_path / "ws"
    many = ws / "many"
    many.mkdir(parents=True)
    for i in range(FILES):
        (many / f"f{i:04}.txt").write_text(f"original {i}\n")
    checkpointer = open_checkpointer(ws, Path(os.environ["XDG_DATA_HOME"]) / "agentshell")
    checkpointer.begin_request("s1", "rewrite everything")

    def rewrite() -> None:
        for i in range(FILES):
            (many / f"f{i:04}.txt").write_text(f"agent {i}\n")
        (ws / "created.txt").write_text("new\n")

    agent_call(checkpointer, rewrite)
    return ws, store_of(checkpointer).journal.path


def kill_mid_rewind(ws: Path, journal: Path) -> None:
    proc = subprocess.Popen(agent_command("rewind"), cwd=ws, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not journal.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert journal.exists(), "the rewind finished before it could be killed"


def contents(ws: Path) -> list[str]:
    return [p.read_text() for p in sorted((ws / "many").iterdir())]


@pytest.mark.slow
def test_a_killed_rewind_is_finished_by_agent_rewind(tmp_path: Path) -> None:
    ws, journal = prepare(tmp_path)
    kill_mid_rewind(ws, journal)
    refused = run_agent("rewind", "--to", "1", cwd=ws)
    assert refused.returncode == 1 and "interrupted" in refused.stderr
    done = run_agent("rewind", "--output-format", "json", cwd=ws)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["action"] == "finish" and report["applied"]
    assert contents(ws) == [f"original {i}\n" for i in range(FILES)]
    assert not (ws / "created.txt").exists()
    assert not journal.exists()
    assert not list(ws.rglob("*.agentshell-rewind"))
    listed = json.loads(run_agent("rewind", "--list", "--output-format", "json", cwd=ws).stdout)
    assert [e["kind"] for e in listed["entries"]] == ["request", "rewind"]


@pytest.mark.slow
def test_a_killed_rewind_is_rolled_back_by_agent_rewind_rollback(tmp_path: Path) -> None:
    ws, journal = prepare(tmp_path)
    kill_mid_rewind(ws, journal)
    done = run_agent("rewind", "--rollback", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert "rolled back" in done.stdout
    assert contents(ws) == [f"agent {i}\n" for i in range(FILES)]
    assert (ws / "created.txt").read_text() == "new\n"
    assert not journal.exists()
    assert not list(ws.rglob("*.agentshell-rewind"))
    again = run_agent("rewind", "--rollback", cwd=ws)
    assert again.returncode == 2 and "no interrupted rewind" in again.stderr
    assert run_agent("rewind", cwd=ws).returncode == 0  # and the rewind itself still works afterwards
    assert contents(ws) == [f"original {i}\n" for i in range(FILES)]
