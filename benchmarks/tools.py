"""Cost of the tool layer against the plainest way to do the same thing, measured in this process.

    uv run python benchmarks/tools.py

- bash call: ToolRunner.execute("bash", "true") (permission check, process group,
  marker, cleanup scan of /proc) against subprocess.run(["bash", "-c", "true"]).
- bash output: 200 MB through the head+tail capture against the same command to /dev/null.
- grep: the grep tool over a tree of 2,000 files against GNU grep -rn in a subprocess.
- read_file: the first 2,000 lines of a 50 MB file against reading the whole file with Path.read_text.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agentshell.permissions.gate import PermissionGate
from agentshell.tools import ToolContext, ToolRunner, default_tools


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(os.path.realpath(tmp))
        runner = ToolRunner(default_tools(), ToolContext(ws, bash_timeout=60), PermissionGate("yolo", ws))
        procs = sum(1 for p in os.listdir("/proc") if p.isdigit()) if os.path.isdir("/proc") else 0

        tool = median_seconds(lambda: runner.execute("bash", {"command": "true"}), 30)
        plain = median_seconds(lambda: subprocess.run(["bash", "-c", "true"], check=True), 30)
        print(
            f"bash call          tool {tool * 1e3:7.2f} ms   plain subprocess {plain * 1e3:7.2f} ms"
            f"   ratio {tool / plain:5.2f}   ({procs} processes on the machine to scan)"
        )

        flood = "head -c 200000000 /dev/zero | tr '\\0' y"
        tool = median_seconds(lambda: runner.execute("bash", {"command": flood}), 3)
        plain = median_seconds(lambda: subprocess.run(["bash", "-c", flood], stdout=subprocess.DEVNULL, check=True), 3)
        print(
            f"bash 200 MB output tool {tool:7.2f} s    to /dev/null      {plain:7.2f} s    ratio {tool / plain:5.2f}"
            f"   ({200 / tool:.0f} MB/s captured)"
        )

        src = ws / "tree"
        for d in range(40):
            sub = src / f"pkg{d}"
            sub.mkdir(parents=True)
            for f in range(50):
                lines = [f"def function_{d}_{f}_{i}(x):\n    return x + {i}\n" for i in range(40)]
                if f % 7 == 0:
                    lines.append("# TODO: needle here\n")
                (sub / f"mod{f}.py").write_text("".join(lines))
        tool = median_seconds(lambda: runner.execute("grep", {"pattern": "TODO: needle", "path": "tree"}), 5)
        plain = median_seconds(
            lambda: subprocess.run(["grep", "-rn", "TODO: needle", str(src)], stdout=subprocess.DEVNULL), 5
        )
        print(
            f"grep 2,000 files   tool {tool * 1e3:7.1f} ms   GNU grep -rn      {plain * 1e3:7.1f} ms"
            f"   ratio {tool / plain:5.2f}"
        )

        big = ws / "big.txt"
        with big.open("w") as f:
            for i in range(700_000):
                f.write(f"line {i:07d} of a fifty megabyte file for read_file to page through\n")
        tool = median_seconds(lambda: runner.execute("read_file", {"path": "big.txt"}), 10)
        plain = median_seconds(lambda: big.read_text(), 10)
        print(
            f"read_file 50 MB    tool {tool * 1e3:7.2f} ms   whole read_text   {plain * 1e3:7.2f} ms"
            f"   ratio {tool / plain:5.2f}   (first 2,000 lines only)"
        )


if __name__ == "__main__":
    main()
