"""Killing a stdio MCP server's process group as a last resort, without hitting a process that reused its pid.

extensions/mcp_client.py records each server's pid (its process-group id: the SDK starts it in its own
session) and, where the kernel has them, a pidfd, which names that very process even after its pid is freed.
"""

from __future__ import annotations

import contextlib
import os
import signal


def kill_group(pid: int, pidfd: int | None) -> None:
    """SIGKILL the process group a stdio server leads, unless its pid may now be another process's.

    The loop thread can be stuck while the server exits and is reaped (asyncio's child watcher waits in a
    thread of its own), and the kernel may then hand the pid to an unrelated process that leads a group of
    its own. The pidfd opened at spawn tells: while the server has not been reaped, its pid (so its group
    id) cannot be reused; once it has, the pid is only safe to use if nothing else holds it, and then the
    group, if any of it is left, can only be the server's own children. Without pidfds (not Linux, or a
    kernel before 5.3) the group is killed as before.
    """
    if not hasattr(os, "killpg"):  # Windows: the SDK puts each server in a job object that it ends itself
        return
    if pidfd is not None and _reaped(pidfd) and _pid_in_use(pid):
        return  # the server is gone and its pid belongs to another process now
    with contextlib.suppress(OSError):  # gone already
        os.killpg(pid, signal.SIGKILL)


def open_pidfd(pid: int) -> int | None:
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return None
    try:
        fd: int = pidfd_open(pid)
    except OSError:  # an old kernel, or the process is already gone
        return None
    return fd


def close_pidfd(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def _reaped(pidfd: int) -> bool:
    """Whether the process behind ``pidfd`` has been waited for (a zombie still counts as there)."""
    try:
        signal.pidfd_send_signal(pidfd, 0)
    except ProcessLookupError:
        return True
    except OSError:  # closed meanwhile, or not a pidfd: cannot tell, so behave as without pidfds
        return False
    return False


def _pid_in_use(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: a process we may not signal holds it
        return True
    return True
