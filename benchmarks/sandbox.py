"""Cost of the OS sandbox per bash call: the bash tool inside bubblewrap against the same tool unconfined.

    uv run python benchmarks/sandbox.py

Each line runs one command through ToolRunner.execute("bash", ...) (the whole tool: permission
check, process group, marker, cleanup scan) and prints the medians and the ratio sandbox ÷ plain:

- ``true``: the fixed cost, what a sandbox adds to every call (bwrap sets up its namespaces and mounts);
- ``python3 -c pass``: a typical short command;
- the same with ``--sandbox-allow-net``: the proxy bridge (a Python process in the sandbox) on top.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agentshell.permissions.gate import PermissionGate
from agentshell.tools import ToolContext, ToolRunner, default_tools
from agentshell.tools.sandbox import SandboxPolicy, open_sandbox, probe

REPEAT = 40


def median_seconds(fn: Callable[[], object], repeat: int = REPEAT) -> float:
    fn()  # warm: page cache, the first bwrap exec
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def runner(ws: Path, policy: SandboxPolicy | None) -> Callable[[str], object]:
    sandbox = open_sandbox(policy) if policy is not None else None
    tools = ToolRunner(default_tools(), ToolContext(ws, bash_timeout=60, sandbox=sandbox), PermissionGate("yolo", ws))

    def call(command: str) -> object:
        result = tools.execute("bash", {"command": command})
        if result.is_error:
            raise SystemExit(f"benchmark command failed: {result.output}")
        return result

    return call


def main() -> None:
    found = probe()
    if not found.available:
        raise SystemExit(f"no sandbox here: {found.detail}; {found.fix}")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(os.path.realpath(tmp))
        plain = runner(ws, None)
        boxed = runner(ws, SandboxPolicy(ws))
        netted = runner(ws, SandboxPolicy(ws, allow_net=("pypi.org",)))
        print(f"{found.detail}; median of {REPEAT} calls each")
        for label, command, confined in (
            ("true", "true", boxed),
            ("python3 -c pass", f"{sys.executable} -I -c pass", boxed),
            ("true, allow-net", "true", netted),
        ):
            base = median_seconds(lambda c=command: plain(c))  # type: ignore[misc]
            cost = median_seconds(lambda c=command, run=confined: run(c))  # type: ignore[misc]
            print(
                f"{label:<18} plain {base * 1e3:7.2f} ms   sandbox {cost * 1e3:7.2f} ms   "
                f"+{(cost - base) * 1e3:6.2f} ms   ratio {cost / base:5.2f}"
            )


if __name__ == "__main__":
    main()
