"""Start-up time of whole ``agent`` processes, against ``python -c pass`` and ``llm --version``.

Median wall time of many runs of each command, run interleaved so that a
busy neighbour slows all of them alike; figures are printed as ratios.

    uv run python tests/benchmarks/startup.py [RUNS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def command(name: str, *args: str) -> list[str]:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        raise SystemExit(f"startup: {name} is not installed; run `uv sync --all-packages --group dev` first")
    return [path, *args]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    os.environ.setdefault("LLM_USER_PATH", str(Path(os.environ.get("TMPDIR", "/tmp")) / "agentshell-bench-llm"))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "agent --version": command("agent", "--version"),
        "agent launch --help": command("agent", "launch", "--help"),
        "llm --version": command("llm", "--version"),
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for cmd in commands.values():
        timed(cmd)  # warm the file cache
    for i in range(runs):
        for name, cmd in commands.items():
            if name == "llm --version" and i % 3:  # slow; a third of the runs is enough for its median
                continue
            samples[name].append(timed(cmd))
    median = {name: statistics.median(values) for name, values in samples.items()}
    base, llm = median["python -c pass"], median["llm --version"]
    for name in commands:
        print(
            f"startup: {name:<22} median {median[name] * 1000:6.0f} ms  "
            f"= {median[name] / base:5.1f}x python -c pass, llm --version is {llm / median[name]:5.1f}x slower"
        )


if __name__ == "__main__":
    main()
