"""Start-up time of whole ``agent`` processes, against ``python -c pass`` and ``llm --version``.

Median of many runs of each command, run interleaved so that a busy neighbour
slows all of them alike. Two clocks: wall time (what a person waits on an idle
machine) and the child's CPU time (user + system), which a loaded machine
barely disturbs; the ratios use CPU time.

    uv run python benchmarks/startup.py [RUNS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def command(name: str, *args: str) -> list[str]:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        raise SystemExit(f"startup: {name} is not installed; run `uv sync --all-packages --group dev` first")
    return [path, *args]


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child)."""
    before, start = os.times(), time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)
    wall, after = time.perf_counter() - start, os.times()
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    os.environ.setdefault("LLM_USER_PATH", str(Path(tempfile.gettempdir()) / "agentshell-bench-llm"))
    # Measure what an installed program costs: bytecode cached (outside the tree), as after the first run.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="agentshell-bench-pycache-")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "agent --version": command("agent", "--version"),
        "agent launch --help": command("agent", "launch", "--help"),
        "llm --version": command("llm", "--version"),
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for cmd in commands.values():
        timed(cmd)  # warm the file cache
    for i in range(runs):
        for name, cmd in commands.items():
            if name == "llm --version" and i % 3:  # slow; a third of the runs is enough for its median
                continue
            samples[name].append(timed(cmd))
    wall = {name: statistics.median(w for w, _ in values) for name, values in samples.items()}
    cpu = {name: statistics.median(c for _, c in values) for name, values in samples.items()}
    base, llm = cpu["python -c pass"], cpu["llm --version"]
    for name in commands:
        print(
            f"startup: {name:<20} median wall {wall[name] * 1000:5.0f} ms, CPU {cpu[name] * 1000:5.0f} ms "
            f"= {cpu[name] / base:5.1f}x python -c pass; llm --version takes {llm / cpu[name]:5.1f}x as long"
        )


if __name__ == "__main__":
    main()
