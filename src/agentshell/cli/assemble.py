"""The command line's side of building an agent: the flags ``agent launch`` and ``agent acp`` share, as the
API's options, and the notices it prints on stderr.

The agent is built by the API (api/assembly.py, :class:`agentshell.api.Agent`); a front end only turns
what Typer parsed into :class:`LaunchOptions` and says where notices go.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import Enum

from agentshell.api.assembly import LaunchOptions
from agentshell.permissions.modes import PermissionMode

__all__ = ["LOADING", "LaunchOptions", "launch_options", "stderr_notice"]

LOADING = "loading: "
"""How a notice about a model still loading starts: a spinner at a terminal, nothing in a log."""


def launch_options(
    *,
    model: str | None,
    backend: str | None,
    max_turns: int | None,
    permission_mode: PermissionMode | None,
    allow: Sequence[str] | None,
    deny: Sequence[str] | None,
    host: str | None,
    base_url: str | None,
    gpu_layers: int | None,
    think: Enum | None,
    temperature: float | None,
    seed: int | None,
    debug: bool,
    sandbox: bool | None,
    sandbox_allow_net: Sequence[str] | None,
    continue_session: bool = False,
    resume: str | None = None,
) -> LaunchOptions:
    """The options from the flags as Typer gives them (None for a repeatable flag not given, ``--think`` as its
    choice); the backend flags go to the backends that declare them (agentshell/protocol.py, BackendManifest)."""
    return LaunchOptions(
        model=model,
        backend=backend,
        max_turns=max_turns,
        permission_mode=permission_mode,
        allow=tuple(allow or ()),
        deny=tuple(deny or ()),
        continue_session=continue_session,
        resume=resume,
        backend_flags={"host": host, "base_url": base_url, "gpu_layers": gpu_layers},
        think=think.value if think else None,
        temperature=temperature,
        seed=seed,
        debug=debug,
        sandbox=sandbox,
        sandbox_allow_net=tuple(sandbox_allow_net or ()),
    )


def stderr_notice(line: str) -> None:
    """A notice of a run without a person watching its terminal (-p, stream-json, ACP): one line on stderr."""
    if line.startswith(LOADING):
        return
    from agentshell.cli.safe_text import for_stream

    sys.stderr.write(f"agent: {for_stream(line, sys.stderr)}\n")
    sys.stderr.flush()
