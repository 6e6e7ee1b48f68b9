"""bash: run a command in the workspace, bounded in time and in memory, leaving nothing behind.

The command gets no stdin (/dev/null: ``cat`` and ``read`` see EOF at once),
its own session and process group, and a timeout. Output is read as it comes
and only its head and tail are kept, so ``yes`` cannot fill memory. When the
command returns, times out, or the user presses Ctrl-C, every process it
started is stopped (see :mod:`agentshell.tools.processes`).

The command never sees a credential: agentshell's own (``ToolContext.hidden_env``) and every variable
whose name looks like one (:func:`agentshell.redact.is_secret_variable`) are left out of its
environment, unless ``bash_pass_env`` names them. It cannot read the agent's environment through
/proc either: the agent is made undumpable (:func:`agentshell.tools.processes.protect_environment`),
which holds against other users' processes, and the sandbox (:mod:`agentshell.tools.sandbox`) gives
the command its own PID namespace, which holds against root too.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from agentshell.permissions.gitcontrol import git_safety_env
from agentshell.permissions.modes import ToolKind
from agentshell.redact import credential_free_env
from agentshell.tools.base import Access, BaseTool, ToolArgs, ToolContext, ToolError, ToolResult, plural
from agentshell.tools.processes import MARKER_VAR, ProcessTree, hold_sigint, release_sigint, sigint_deferred
from agentshell.tools.sandbox import Sandbox

HEAD_BYTES = 15_000
TAIL_BYTES = 15_000
MAX_COMMAND_BYTES = 100_000  # Linux refuses a single argument over 128 KiB
_DRAIN_AFTER_EXIT = 0.2  # seconds to collect output still in flight once the command has returned
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")

# Non-interactive defaults: no pager, no credential prompt, no colours for the model to wade through.
_QUIET_ENV = {"PAGER": "cat", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0", "TERM": "dumb"}


class HeadTail:
    """Keeps the first and last bytes of a stream of any length, and counts what fell between."""

    def __init__(
        self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES, on_output: Callable[[bytes], None] | None = None
    ) -> None:
        self.head_limit, self.tail_limit = head, tail
        self.on_output = on_output  # sees every chunk, kept or not (the terminal's live tail)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.dropped_lines = 0
        self._before_tail = b"\n"  # the byte just before the kept tail: tells whether the tail starts a line

    def add(self, chunk: bytes) -> None:
        if self.on_output is not None:
            self.on_output(chunk)
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        excess = len(self.tail) - self.tail_limit
        if excess > 0:
            self.dropped_lines += self.tail.count(b"\n", 0, excess)
            self._before_tail = bytes(self.tail[excess - 1 : excess])
            del self.tail[:excess]

    @property
    def cut(self) -> int:
        return self.total - len(self.head) - len(self.tail)

    def text(self) -> str:
        head, tail = bytes(self.head), bytes(self.tail)
        if not self.cut:
            return _clean(head + tail)
        # Cut at line boundaries when there is one near the edge, so no half lines show.
        nl = head.rfind(b"\n", max(0, len(head) - 2000))
        if nl != -1:
            head = head[: nl + 1]
        nl = tail.find(b"\n", 0, 2000)
        if nl != -1 and self._before_tail != b"\n":
            tail = tail[nl + 1 :]
        cut = self.total - len(head) - len(tail)
        lines = self.dropped_lines + self.head[len(head) :].count(b"\n")
        lines += self.tail[: len(self.tail) - len(tail)].count(b"\n")
        marker = f"[... {cut} bytes ({lines} lines) of output cut here ...]\n"
        if not head.endswith(b"\n"):
            marker = "\n" + marker
        return _clean(head) + marker + _clean(tail)


def _clean(data: bytes) -> str:
    return _ANSI.sub("", data.decode("utf-8", "replace")).replace("\x00", "\ufffd")


@dataclass(frozen=True)
class CommandOutcome:
    output: str
    exit_code: int | None  # None when it timed out
    timed_out: bool
    total_bytes: int


def command_env(marker: str, hidden: tuple[str, ...] = (), passed: tuple[str, ...] = ()) -> dict[str, str]:
    """The command's environment: no credentials, quiet defaults, the marker.

    ``hidden`` (agentshell's own credentials, from the configuration through ``ToolContext.hidden_env``)
    never passes; other credential-looking variables pass only when ``passed`` names them.
    """
    env = credential_free_env(hidden=hidden, passed=passed)
    env.update(_QUIET_ENV)
    env.update(git_safety_env(env))  # git refuses a repository the model planted (permissions/gitcontrol.py)
    env[MARKER_VAR] = marker
    return env


def run_command(
    command: str,
    cwd: Path,
    *,
    timeout: float,
    grace: float,
    hidden_env: tuple[str, ...] = (),
    pass_env: tuple[str, ...] = (),
    sandbox: Sandbox | None = None,
    on_output: Callable[[bytes], None] | None = None,
) -> CommandOutcome:
    """Run ``bash -c command`` (inside ``sandbox`` when given); returns (or raises KeyboardInterrupt) only once
    every process it started is stopped."""
    marker = uuid.uuid4().hex
    env = command_env(marker, hidden_env, pass_env)
    argv = ["bash", "-c", command]
    if sandbox is not None:
        argv = sandbox.wrap(argv, env)  # the sandbox itself starts with the clean environment: /proc/1/environ
    # Ctrl-C is held from before the start until the try below, where the cleanup can reach the processes:
    # a KeyboardInterrupt inside Popen itself would leave a running command nobody stops.
    held = hold_sigint()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
    except BaseException as exc:
        release_sigint(held)
        if isinstance(exc, OSError):
            what = "the sandbox" if sandbox is not None else "bash"
            raise ToolError(f"cannot start {what}: {exc.strerror or exc}") from None
        raise
    tree = ProcessTree(proc, marker)
    capture = HeadTail(on_output=on_output)
    timed_out = False
    open_pipe = True
    fd: int | None = None
    exit_fd: int | None = None
    selector: selectors.BaseSelector | None = None
    try:
        release_sigint(held)  # from here on, whatever happens, the finally below stops it all
        assert proc.stdout is not None  # PIPE was asked for
        fd = proc.stdout.fileno()
        os.set_blocking(fd, False)
        selector = selectors.DefaultSelector()
        selector.register(fd, selectors.EVENT_READ)
        exit_fd = _exit_notifier(proc.pid)  # wakes the wait the moment the command exits (Linux)
        if exit_fd is not None:
            selector.register(exit_fd, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if open_pipe or exit_fd is not None:
                for key, _ in selector.select(min(remaining, 0.1)):
                    if key.fd == fd:
                        open_pipe = _read_into(fd, capture)
                        if not open_pipe:
                            selector.unregister(fd)
            else:  # stdout closed, the command still runs, and no exit notification: poll
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=min(remaining, 0.1))
        if exit_fd is not None:
            selector.unregister(exit_fd)  # readable for good from now on
        if not timed_out:
            # Collect what is still in the pipe; a background child holding it open must not keep us here.
            until = time.monotonic() + _DRAIN_AFTER_EXIT
            while open_pipe and time.monotonic() < until:
                if selector.select(max(0.0, until - time.monotonic())):
                    open_pipe = _read_into(fd, capture)
    finally:
        with sigint_deferred():
            tree.stop(grace)
            _drain_and_close(proc, selector, fd if open_pipe else None, exit_fd, capture)
    return CommandOutcome(capture.text(), None if timed_out else proc.returncode, timed_out, capture.total)


def _drain_and_close(
    proc: subprocess.Popen[bytes],
    selector: selectors.BaseSelector | None,
    fd: int | None,
    exit_fd: int | None,
    capture: HeadTail,
) -> None:
    """Keep what the stopped processes wrote last (bounded: they are gone), then release every descriptor."""
    if selector is not None:
        if exit_fd is not None:
            with contextlib.suppress(KeyError):  # still registered when interrupted mid-wait
                selector.unregister(exit_fd)
        until = time.monotonic() + 0.5
        while fd is not None and time.monotonic() < until and selector.select(0.05):
            if not _read_into(fd, capture):
                break
        selector.close()
    if exit_fd is not None:
        os.close(exit_fd)
    if proc.stdout is not None:
        proc.stdout.close()


def _exit_notifier(pid: int) -> int | None:
    """A pidfd that becomes readable when ``pid`` exits, where the kernel has them (Linux 5.3+)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _read_into(fd: int, capture: HeadTail) -> bool:
    """Read what is available; False at end of file."""
    try:
        chunk = os.read(fd, 1 << 16)
    except BlockingIOError:
        return True
    if not chunk:
        return False
    capture.add(chunk)
    return True


class BashArgs(ToolArgs):
    command: str = Field(
        description="The bash command to run in the workspace root, e.g. 'pytest -q' or 'git status'. "
        "It gets no input (stdin is empty) and is killed at the timeout; do not start servers or interactive programs."
    )


def _checked(command: str) -> str:
    if os.name != "posix":
        raise ToolError("the bash tool needs Linux or macOS; on Windows, run agentshell inside WSL")
    if not command.strip():
        raise ToolError("command is empty")
    size = len(command.encode("utf-8", "replace"))
    if size > MAX_COMMAND_BYTES:
        raise ToolError(
            f"command is {size} bytes, over the limit of {MAX_COMMAND_BYTES}; "
            "write a script with write_file and run it with bash script.sh"
        )
    if "\x00" in command:
        raise ToolError("command contains a NUL byte")
    return command


class Bash(BaseTool[BashArgs]):
    name = "bash"
    description = (
        "Run a shell command with bash in the workspace directory and return its output (stdout and stderr) "
        "and exit code. Long output keeps its beginning and end. Processes it starts are stopped when it returns."
    )
    kind: ToolKind = "execute"

    def access(self, args: BashArgs, ctx: ToolContext) -> Access:
        command = _checked(args.command)  # a command that cannot run is refused before asking
        one_line = " ".join(command.split())
        shown = one_line if len(one_line) <= 200 else one_line[:200] + "…"
        return Access(summary=f"bash: {shown}", subject=command.strip(), detail=command[:20_000])

    def run(self, args: BashArgs, ctx: ToolContext) -> ToolResult:
        command = _checked(args.command)
        outcome = run_command(
            command,
            ctx.workspace,
            timeout=ctx.bash_timeout,
            grace=ctx.kill_grace,
            hidden_env=ctx.hidden_env,
            pass_env=ctx.pass_env,
            sandbox=ctx.sandbox,
            on_output=ctx.on_output,
        )
        body = outcome.output if outcome.output.strip() else "(no output)"
        if not body.endswith("\n"):
            body += "\n"
        lines = outcome.output.count("\n")
        if outcome.timed_out:
            limit = f"{ctx.bash_timeout:g}"
            return ToolResult(
                f"{body}[timed out after {limit} s; the command and every process it started were killed]",
                is_error=True,
                summary=f"timed out after {limit} s",
            )
        code = outcome.exit_code
        status = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        short = status.replace("exit code", "exit")
        return ToolResult(f"{body}[{status}]", is_error=code != 0, summary=f"{short}, {plural(lines, 'line')}")
