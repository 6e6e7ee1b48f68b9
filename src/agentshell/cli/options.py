"""Options that ``agent launch`` and ``agent acp`` share, defined once so their names and help agree.

Only Typer is imported: both commands' ``--help`` must stay fast.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from agentshell.permissions.modes import PermissionMode


class ThinkChoice(StrEnum):
    off = "off"
    low = "low"
    medium = "medium"
    high = "high"


Backend = Annotated[
    str | None, typer.Option("--backend", "-b", help="Force a backend instead of resolving the model string.")
]
MaxTurns = Annotated[
    int | None,
    typer.Option("--max-turns", help="Model requests per prompt before it stops (a scripted run exits with 3)."),
]
Mode = Annotated[
    PermissionMode | None, typer.Option("--permission-mode", help="ask | accept-edits | read-only | yolo.")
]
Allow = Annotated[
    list[str] | None,
    typer.Option("--allow", help="Allow without asking, e.g. 'bash(git status*)', 'edit(src/**)'. Repeatable."),
]
Deny = Annotated[list[str] | None, typer.Option("--deny", help="Always deny, e.g. 'bash(rm *)'. Repeatable.")]
# Backend flags: each reaches the backends whose manifest takes it (agentshell/protocol.py, BackendManifest).
Host = Annotated[str | None, typer.Option("--host", help="Server URL, for the backends that take a host (Ollama).")]
BaseUrl = Annotated[
    str | None,
    typer.Option("--base-url", help="API root of an OpenAI-compatible server, e.g. http://localhost:8000/v1."),
]
GpuLayers = Annotated[
    int | None,
    typer.Option("--gpu-layers", help="Layers to offload to the GPU, for in-process engines (-1 = all)."),
]
Think = Annotated[ThinkChoice | None, typer.Option("--think", help="Reasoning effort for models that think.")]
Temperature = Annotated[float | None, typer.Option("--temperature", help="Sampling temperature.")]
Seed = Annotated[int | None, typer.Option("--seed", help="Sampling seed, for reproducible runs.")]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks and backend debug output on stderr.")]
Sandbox = Annotated[
    bool | None,
    typer.Option(
        "--sandbox/--no-sandbox",
        help="Run every bash call in an OS sandbox (bubblewrap; on by default in yolo mode where it works).",
    ),
]
SandboxAllowNet = Annotated[
    list[str] | None,
    typer.Option(
        "--sandbox-allow-net",
        metavar="HOST",
        help="Let sandboxed commands reach HOST over HTTP(S) through a proxy, e.g. pypi.org. Repeatable.",
    ),
]
