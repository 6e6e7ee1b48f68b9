"""An OS sandbox around every bash command: bubblewrap on Linux, sandbox-exec on macOS.

Permission rules match command text, and text can always be written another way; the
sandbox holds whatever the text says (docs/tools-and-permissions.md, "Sandbox"):

- the workspace (and ``sandbox_writable`` paths) writable, the rest of the file system read-only,
  ``/tmp`` a private scratch space that vanishes with the command;
- agentshell's own config and data directories, and ``sandbox_hide`` paths, replaced by empty ones;
- no network: a new network namespace holds only its own loopback. ``--sandbox-allow-net HOST`` lets
  HTTP(S) through to HOST by a proxy (:mod:`agentshell.tools.netproxy`); nothing else gets out;
- its own PID namespace: the agent's process, and so its environment, cannot be seen;
- the environment the bash tool builds, with credential-looking variables removed.

When a sandbox is asked for and cannot run, :class:`SandboxUnavailable` says how to install one:
a command never runs unconfined instead. The macOS profile is generated but untested here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from agentshell.errors import EXIT_FAILURE, UserError

if TYPE_CHECKING:
    from agentshell.tools.netproxy import NetProxy

BWRAP_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap)"
SEATBELT = "/usr/bin/sandbox-exec"
_PROBE_TIMEOUT = 10.0


class SandboxUnavailable(UserError):
    """The sandbox was asked for and cannot run here; ``str()`` says how to make it run."""

    exit_code = EXIT_FAILURE


@dataclass(frozen=True)
class SandboxPolicy:
    """What one run's commands may touch; every path absolute."""

    workspace: Path
    writable: tuple[Path, ...] = ()  # more writable places, e.g. ~/.cache for package managers
    hidden: tuple[Path, ...] = ()  # replaced by an empty directory (or /dev/null for a file)
    allow_net: tuple[str, ...] = ()  # HOST, HOST:PORT or *.DOMAIN, reached through the proxy


@dataclass(frozen=True)
class SandboxProbe:
    """Whether a sandbox can run on this machine, for ``agent doctor`` and the yolo default."""

    available: bool
    kind: str  # "bubblewrap", "sandbox-exec", or "" when there is none
    detail: str
    fix: str = ""


class Sandbox(Protocol):
    kind: str

    def wrap(self, argv: Sequence[str], env: dict[str, str]) -> list[str]:
        """The argv that runs ``argv`` confined; may add to ``env`` (the proxy's address)."""
        ...

    def close(self) -> None: ...


@dataclass
class Bubblewrap:
    """Linux: one ``bwrap`` per command (about 15 ms, benchmarks/sandbox.py)."""

    bwrap: str
    policy: SandboxPolicy
    proxy: NetProxy | None = None
    kind: str = "bubblewrap"
    _prefix: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._prefix = [self.bwrap, *bwrap_arguments(self.policy, self.proxy)]

    def wrap(self, argv: Sequence[str], env: dict[str, str]) -> list[str]:
        env["TMPDIR"] = "/tmp"  # the private one; a TMPDIR elsewhere would be read-only
        if self.proxy is None:
            return [*self._prefix, "--", *argv]
        env.update(self.proxy.client_env())
        return [*self._prefix, "--", *self.proxy.bridge_argv(argv)]

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()


def bwrap_arguments(policy: SandboxPolicy, proxy: NetProxy | None = None) -> list[str]:
    """bwrap's options for ``policy``; mounts apply in order, so later ones cover earlier ones."""
    args = [
        "--die-with-parent",  # the agent gone, nothing it started lives on
        "--new-session",  # no TIOCSTI into the agent's terminal
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-net",
        "--unshare-cgroup-try",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
    ]
    for path in _interpreter_under_tmp():  # the proxy bridge runs this Python inside the sandbox
        args += ["--ro-bind", str(path), str(path)]
    for path in (*policy.writable, policy.workspace):
        if path.is_dir():
            args += ["--bind", str(path), str(path)]
    for path in policy.hidden:  # after the workspace: ~/.ssh stays hidden when the workspace is ~
        if not path.exists() or _inside(policy.workspace, path):
            continue
        if path.is_dir():
            args += ["--tmpfs", str(path)]
        else:
            args += ["--ro-bind", "/dev/null", str(path)]
    if proxy is not None:
        args += ["--bind", str(proxy.socket_dir), str(proxy.socket_dir)]
    args += ["--chdir", str(policy.workspace)]
    return args


def _interpreter_under_tmp() -> list[Path]:
    """The running Python's installation when it lives under /tmp (a CI checkout, a throwaway venv):
    the private /tmp would hide it from the commands that need it, read-only like the rest."""
    tmp = Path("/tmp").resolve()
    found: list[Path] = []
    for place in (Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent):
        place = place.resolve()
        if _inside(place, tmp) and place != tmp and not any(_inside(place, f) for f in found):
            found.append(place)
    return found


def seatbelt_profile(policy: SandboxPolicy, proxy_port: int | None = None) -> str:
    """A sandbox-exec (SBPL) profile for macOS: read everything but the hidden paths, write the workspace.

    Untested here (no macOS in CI); it follows the shape of the profiles Codex and Chromium ship.
    """

    def quoted(path: Path) -> str:
        return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'

    writable = " ".join(f"(subpath {quoted(p)})" for p in (policy.workspace, *policy.writable))
    lines = [
        "(version 1)",
        "(deny default)",
        "(allow process-exec process-fork)",
        "(allow signal (target same-sandbox))",
        "(allow sysctl-read)",
        "(allow mach-lookup)",
        "(allow ipc-posix-shm)",
        "(allow file-read*)",
        f'(allow file-write* {writable} (subpath (param "TMPDIR")) (literal "/dev/null") '
        '(regex #"^/dev/tty") (regex #"^/dev/fd/"))',
    ]
    for path in policy.hidden:
        lines.append(f"(deny file-read* file-write* (subpath {quoted(path)}))")
    if proxy_port is not None:
        lines.append(f'(allow network-outbound (remote tcp "localhost:{proxy_port}"))')
    return "\n".join(lines) + "\n"


@dataclass
class Seatbelt:
    """macOS: ``sandbox-exec -p PROFILE``. sandbox-exec cannot give a PID namespace: on macOS another
    process's environment is not readable without root anyway (no /proc)."""

    policy: SandboxPolicy
    proxy: NetProxy | None = None
    kind: str = "sandbox-exec"

    def wrap(self, argv: Sequence[str], env: dict[str, str]) -> list[str]:
        scratch = Path(env.get("TMPDIR") or "/tmp").resolve()
        port = None
        if self.proxy is not None:
            env.update(self.proxy.client_env())
            port = self.proxy.tcp_port
        return [SEATBELT, "-p", seatbelt_profile(self.policy, port), "-D", f"TMPDIR={scratch}", *argv]

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@cache
def probe() -> SandboxProbe:
    """Can this machine sandbox a command? bwrap is run once, for real: it may be installed and still
    refused namespaces (a container without privileges, a kernel with unprivileged user namespaces off)."""
    if sys.platform == "darwin":
        if os.access(SEATBELT, os.X_OK):
            return SandboxProbe(True, "sandbox-exec", f"{SEATBELT} (macOS; untested by agentshell's CI)")
        return SandboxProbe(False, "", f"{SEATBELT} is missing", "sandbox-exec ships with macOS; reinstall the OS")
    if not sys.platform.startswith("linux"):
        return SandboxProbe(False, "", f"no sandbox for {sys.platform}", "run agentshell inside WSL (Linux)")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxProbe(False, "", "bwrap (bubblewrap) is not installed", BWRAP_HINT)
    try:
        proc = subprocess.run(
            [bwrap, *bwrap_arguments(SandboxPolicy(Path("/"))), "true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxProbe(False, "", f"bwrap cannot start: {exc}", BWRAP_HINT)
    if proc.returncode != 0:
        why = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        fix = "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), or run as root"
        return SandboxProbe(False, "", f"bwrap is installed but cannot sandbox here: {why}", fix)
    return SandboxProbe(True, "bubblewrap", f"{bwrap} works (PID, network and mount namespaces)")


def open_sandbox(policy: SandboxPolicy) -> Sandbox:
    """The sandbox for this run; :class:`SandboxUnavailable` (one line, how to fix it) when there is none."""
    found = probe()
    if not found.available:
        raise SandboxUnavailable(f"--sandbox: {found.detail}; {found.fix}")
    proxy = None
    if policy.allow_net:
        from agentshell.tools.netproxy import NetProxy

        proxy = NetProxy(policy.allow_net, tcp=found.kind == "sandbox-exec")
    if found.kind == "sandbox-exec":
        return Seatbelt(policy, proxy)
    bwrap = shutil.which("bwrap")
    assert bwrap is not None  # the probe found it
    return Bubblewrap(bwrap, policy, proxy)
