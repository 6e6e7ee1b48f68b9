"""The last-resort kill of an MCP server's process group never hits a process that took over its pid
(extensions/process_group.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agentshell.extensions.process_group import close_pidfd, kill_group, open_pidfd
from tests.extensions.support import alive, wait_for

pytestmark = pytest.mark.skipif(
    not hasattr(os, "pidfd_open") or not hasattr(os, "killpg"), reason="needs pidfds and process groups (Linux ≥ 5.3)"
)

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def _leader(argv: list[str], stdout: int | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, start_new_session=True, stdout=stdout)


def test_a_live_server_group_is_killed() -> None:
    server = _leader(SLEEP)
    fd = open_pidfd(server.pid)
    try:
        assert fd is not None
        kill_group(server.pid, fd)
        assert server.wait(10) == -9
    finally:
        close_pidfd(fd)


def test_a_pid_now_held_by_another_process_is_left_alone() -> None:
    # The server exited and was reaped; its pidfd still names it. The pid given is held by another group
    # leader, as when the kernel hands the freed pid to an unrelated process.
    server = _leader([sys.executable, "-c", "pass"])
    fd = open_pidfd(server.pid)
    server.wait(10)
    other = _leader(SLEEP)
    try:
        kill_group(other.pid, fd)
        assert other.poll() is None and alive(other.pid), "killed a process that only reused the server's pid"
    finally:
        close_pidfd(fd)
        other.kill()
        other.wait(10)


def test_what_is_left_of_a_reaped_servers_group_is_still_killed() -> None:
    # The server started a child in its group and exited; nothing else holds its pid, so the group is its own.
    script = f"import subprocess; c = subprocess.Popen({SLEEP!r}); print(c.pid, flush=True)"
    server = _leader([sys.executable, "-c", script], stdout=subprocess.PIPE)
    fd = open_pidfd(server.pid)
    assert server.stdout is not None
    child = int(server.stdout.readline())
    server.wait(10)
    try:
        assert alive(child)
        kill_group(server.pid, fd)
        assert wait_for(lambda: not alive(child), 10), "the server's child survived"
    finally:
        close_pidfd(fd)
        if alive(child):
            os.kill(child, 9)


def test_without_a_pidfd_the_group_is_killed_as_before() -> None:
    server = _leader(SLEEP)
    kill_group(server.pid, None)
    assert server.wait(10) == -9
