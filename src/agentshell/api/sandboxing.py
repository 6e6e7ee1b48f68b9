"""Whether this run's bash calls are sandboxed, and with what policy: the configuration meets tools/sandbox.py.

The rule (docs/tools-and-permissions.md#sandbox): ``sandbox = true`` (``--sandbox``) always, and refuses to
start when no sandbox can run; ``sandbox = false`` (``--no-sandbox``) never; unset, yolo mode and
``--sandbox-allow-net`` turn it on where one can run. Yolo without one says so once, as a warning notice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentshell.config import Settings
    from agentshell.tools.sandbox import Sandbox, SandboxPolicy


def wanted(settings: Settings, allow_net: Sequence[str] = ()) -> bool | None:
    """True: must sandbox; False: must not; None: sandbox if a sandbox can run here (yolo)."""
    if settings.sandbox is not None:
        return settings.sandbox
    if allow_net or settings.sandbox_allow_net:
        return True  # allowing a host means confining the rest
    return None if settings.permission_mode == "yolo" else False


def policy(settings: Settings, workspace: Path, allow_net: Sequence[str] = ()) -> SandboxPolicy:
    from agentshell.config import config_dir, config_path, data_dir
    from agentshell.tools.sandbox import SandboxPolicy

    def paths(raw: Sequence[str | Path]) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(Path(p).expanduser().resolve() for p in raw))

    hidden = paths([config_dir(), data_dir(), config_path(), *settings.sandbox_hide])
    return SandboxPolicy(
        workspace=workspace,
        writable=paths(settings.sandbox_writable),
        hidden=tuple(p for p in hidden if p != workspace),
        allow_net=tuple(dict.fromkeys([*settings.sandbox_allow_net, *allow_net])),
    )


def open_for_run(
    settings: Settings, workspace: Path, notice: Callable[[str], None], allow_net: Sequence[str] = ()
) -> Sandbox | None:
    """The sandbox every bash call of this run goes through, or None; raises SandboxUnavailable when
    one was asked for and cannot run."""
    from agentshell.tools.sandbox import open_sandbox, probe

    want = wanted(settings, allow_net)
    if want is False:
        return None
    if want is None and not probe().available:
        found = probe()
        notice(f"warning: yolo without a sandbox: {found.detail}; {found.fix}")
        return None
    return open_sandbox(policy(settings, workspace, allow_net))  # refuses, saying how to install one
