"""Ctrl-C in a scripted run: the running command's whole process group dies and the agent exits 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from agentshell.session import SessionStore
from tests.cli.launch_support import (
    MARKER,
    agent_command,
    call,
    process_gone,
    sigint_default,
    sleeping_pids,
    text,
    wait_for,
    write_script,
)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find the child")
def test_sigint_during_bash_kills_the_command_and_exits_130(tmp_path: Path) -> None:
    model = write_script(
        tmp_path,
        [[call("bash", command=f"echo started; sleep {MARKER}; echo never")], [text("unreachable")]],
    )
    proc = subprocess.Popen(
        agent_command(
            "launch", "-m", model, "-p", "wait", "--permission-mode", "yolo", "--output-format", "stream-json"
        ),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )
    try:
        assert wait_for(lambda: sleeping_pids(), 30), "the bash tool never started sleep"
        (sleeper,) = sleeping_pids()
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert wait_for(lambda: process_gone(sleeper), 5), "sleep survived Ctrl-C"
    assert "Traceback" not in stderr and "interrupted" in stderr
    events = [json.loads(line) for line in stdout.splitlines()]
    assert events[-1]["type"] == "result" and events[-1]["stop_reason"] == "interrupted"
    assert events[-1]["exit_code"] == 130
    # The transcript stays well-formed: the call is answered, marked interrupted.
    store = SessionStore()
    (summary,) = store.list(tmp_path.resolve())
    _, messages, _ = store.read(summary.id)
    assert messages[-1].role == "tool" and messages[-1].interrupted
