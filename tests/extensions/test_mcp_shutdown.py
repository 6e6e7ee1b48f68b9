"""Stopping MCP servers stays bounded when the event-loop thread is stuck or Ctrl-C cuts the stop short, and no
server outlives it (extensions/mcp_client.py, McpHub.close)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.extensions.support import alive, make_hub, make_runner, own_server, wait_for

ROOT = Path(__file__).resolve().parents[2]

# A stdio "server" that never answers and ignores both the EOF on its stdin and SIGTERM: the SDK's own stop
# takes its full bounds (2 s after EOF, 2 s after SIGTERM) before its SIGKILL.
DEAF = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"

# Ctrl-C lands 0.5 s into close(), while the SDK still waits for DEAF to go; prints what happened as JSON.
CTRL_C_DURING_CLOSE = f"""
import json, signal, sys, threading, time
from pathlib import Path
# A shell that starts this in the background (`.ci/run &`) leaves SIGINT ignored, and Python then installs no
# KeyboardInterrupt: restore what an interactive start gives, which is what the test is about.
signal.signal(signal.SIGINT, signal.default_int_handler)
from agentshell.extensions.mcp_client import McpHub
from agentshell.extensions.mcp_config import resolve
from agentshell.extensions.settings import McpServerConfig

deaf = McpServerConfig(command=sys.executable, args=["-c", {DEAF!r}], startup_timeout=30)
hub = McpHub({{"deaf": resolve("deaf", deaf, Path.cwd())}})
hub.start()
while hub.servers["deaf"].pid is None:
    time.sleep(0.01)
pid = hub.servers["deaf"].pid
threading.Timer(0.5, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)).start()
started = time.monotonic()
try:
    hub.close()
    outcome = "returned"
except KeyboardInterrupt:
    outcome = "interrupted"
print(json.dumps({{"pid": pid, "outcome": outcome, "seconds": time.monotonic() - started}}), flush=True)
"""


def _unblock(fifo: Path) -> None:
    """Let a reader blocked opening ``fifo`` go on (it reads EOF)."""
    with contextlib.suppress(OSError):  # nobody is waiting on it
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.timeout(90)  # liveness guard: before, a call and close() waited on a stuck loop forever
def test_a_stuck_event_loop_delays_calls_and_close_only_boundedly_and_close_kills_the_servers(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    hub = make_hub({"ok": own_server(tool_timeout=0.5), "bad": own_server(tool_timeout=0.5)}, tmp_path, log_dir=logs)
    try:
        runner = make_runner(hub, tmp_path, "yolo")
        ok_pid = int(runner.execute("mcp__ok__pid", {}).output)
        assert hub.servers["ok"].pid == ok_pid  # recorded as the SDK spawned it
        # The loop thread blocks in blocking I/O, as on a hung file system: bad's crash notice reads the last
        # line of its log, which is now a FIFO that nobody writes. (The crash's own answer may be stuck too.)
        (logs / "bad.log").unlink()
        os.mkfifo(logs / "bad.log")
        assert runner.execute("mcp__bad__crash", {}).is_error

        # Bounded, not timed: the call gives up with its deadline's message, and close() gives up waiting on the
        # loop and kills the servers itself (the pytest timeout above fails the test if either waits forever).
        late = runner.execute("mcp__ok__echo", {"text": "x"})
        assert late.is_error and "the MCP client did not answer" in late.output, late.output

        hub.close()
        assert hub._abandoned, "close() returned as if the stuck loop had stopped the servers"
        assert wait_for(lambda: not alive(ok_pid), 10), "close() left a server running behind a stuck loop"
    finally:
        _unblock(logs / "bad.log")
        hub.close()


@pytest.mark.timeout(60)
def test_ctrl_c_during_close_kills_the_servers_at_once(tmp_path: Path) -> None:
    """A second Ctrl-C while the servers are being stopped: the agent leaves at once and takes them along."""
    proc = subprocess.run(
        [sys.executable, "-c", CTRL_C_DURING_CLOSE], cwd=ROOT, capture_output=True, text=True, timeout=50, check=False
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    try:
        # "interrupted" means Ctrl-C ended close() before its own bound (CLOSE_SECONDS), and the server is
        # already killed then: the SDK alone would need 4 s (EOF, then SIGTERM) before its SIGKILL.
        assert report["outcome"] == "interrupted", report
        assert wait_for(lambda: not alive(report["pid"]), 3.0), "the server outlived an interrupted close()"
    finally:
        with contextlib.suppress(OSError):
            os.killpg(report["pid"], signal.SIGKILL)
