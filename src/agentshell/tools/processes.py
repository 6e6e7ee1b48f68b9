"""Finding and stopping every process a command left behind.

A command runs in its own session (so its own process group), and carries a
unique marker in its environment. Stopping it means SIGTERM, a grace period,
then SIGKILL, to both the group and every process carrying the marker: the
marker also catches daemons that left the group with ``setsid`` or a double
fork. The marker scan needs Linux's /proc; elsewhere the group alone is used.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

MARKER_VAR = "AGENTSHELL_COMMAND_ID"
_PROC = Path("/proc")
_PR_SET_DUMPABLE = 4  # linux/prctl.h


def protect_environment() -> bool:
    """Make the agent's /proc files (environ, mem, fd...) root's, so a command it runs as the same user
    cannot read its API keys there: ``prctl(PR_SET_DUMPABLE, 0)``. Linux only; True when it took effect.

    Commands are unaffected (exec makes a process dumpable again). The price: no core dumps, and a
    debugger or py-spy needs root to attach. It does nothing against root, which may read any process:
    there, only the sandbox's PID namespace hides the agent (docs/tools-and-permissions.md, "Sandbox").
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _read(path: str) -> bytes | None:
    """One small /proc file; plain os calls because this runs for every process on every command."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _stat_fields(pid: str) -> tuple[bytes, int, int] | None:
    """(state, process group, start time in clock ticks since boot), None if the process is gone."""
    raw = _read(f"/proc/{pid}/stat")
    if not raw:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()  # fields 3... of proc(5): state is [0], starttime (22) is [19]
    return fields[0], int(fields[2]), int(fields[19])


def _has_marker(pid: str, marker: bytes) -> bool:
    environ = _read(f"/proc/{pid}/environ")
    return environ is not None and marker in environ.split(b"\x00")


class ProcessTree:
    """The processes belonging to one command run."""

    def __init__(self, proc: subprocess.Popen[bytes], marker: str) -> None:
        self.proc = proc
        self.pgid = proc.pid  # start_new_session=True makes the child a group leader
        self.marker = f"{MARKER_VAR}={marker}".encode()
        self._marked: dict[str, bool] = {}
        # Nothing that started before the command can descend from it: only later processes need their
        # environment read, which keeps the scan cheap on a busy machine.
        own = _stat_fields(str(proc.pid)) if _PROC.is_dir() else None
        self._started = own[2] if own else 0

    def members(self) -> set[int]:
        """Live (non-zombie) processes in the group or carrying the marker."""
        self.proc.poll()
        if not _PROC.is_dir():
            try:
                os.killpg(self.pgid, 0)
            except (ProcessLookupError, PermissionError):
                return set()
            return {self.pgid}
        found: set[int] = set()
        me = str(os.getpid())
        for name in os.listdir("/proc"):
            if not name.isdigit() or name == me:
                continue
            info = _stat_fields(name)
            if info is None or info[0] in (b"Z", b"X"):
                continue
            if info[1] == self.pgid:
                found.add(int(name))
                continue
            if info[2] < self._started:
                continue
            marked = self._marked.get(name)
            if marked is None:
                marked = self._marked[name] = _has_marker(name, self.marker)
            if marked:
                found.add(int(name))
        return found

    def _signal(self, sig: int, pids: set[int]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)

    def stop(self, grace: float) -> None:
        """SIGTERM everything, wait up to ``grace`` seconds, SIGKILL what is left, reap the child."""
        pids = self.members()
        if pids:
            self._signal(signal.SIGTERM, pids)
            deadline = time.monotonic() + grace
            while pids and time.monotonic() < deadline:
                time.sleep(0.02)
                pids = self.members()
            # Kill until nothing is left: a process may fork between the scan and the signal.
            for _ in range(10):
                if not pids:
                    break
                self._signal(signal.SIGKILL, pids)
                time.sleep(0.01)
                pids = self.members()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=max(grace, 1.0))


def hold_sigint() -> bool:
    """Block SIGINT in this thread (the main one only); True when it was blocked and must be released."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    return True


def release_sigint(held: bool) -> None:
    """Unblock SIGINT; one that arrived meanwhile is delivered now and raises KeyboardInterrupt here."""
    if held:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C while cleaning up, so a second Ctrl-C cannot leave processes behind."""
    held = hold_sigint()
    try:
        yield
    finally:
        release_sigint(held)
