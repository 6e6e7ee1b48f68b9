"""What the agent loop adds per streamed token, through ``--output-format stream-json``.

Two measurements, each against a reference taken in the same run:

* in-process: the scripted backend's 10,000 text deltas through ``Agent`` and the
  stream-json writer, against the bare minimum (``json.dumps`` + write per delta);
* whole process: ``agent launch -m scripted:FILE --output-format stream-json`` with
  10,000 deltas against the same command with one delta (start-up cancels out).

    uv run python benchmarks/loop_overhead.py
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentshell.cli.jsonout import StreamJsonWriter
from agentshell.loop.agent import Agent
from agentshell.testing.scripted import ScriptedBackend

DELTAS = 10_000


class NoTools:
    def specs(self) -> list[object]:
        return []

    def execute(self, name: str, arguments: dict[str, object]) -> object:
        raise AssertionError("no tool calls in this benchmark")


def script(deltas: int) -> list[list[dict[str, object]]]:
    return [[{"type": "text", "text": f"tok{i} "} for i in range(deltas)]]


def in_process() -> tuple[float, float]:
    """(seconds through the loop, seconds for the reference), both CPU time of this process."""
    backend = ScriptedBackend({"responses": script(DELTAS)})
    sink = io.StringIO()
    agent = Agent(backend, "bench", NoTools(), StreamJsonWriter(sink))  # type: ignore[arg-type]
    start = time.process_time()
    agent.run("go")
    loop = time.process_time() - start

    events = [f"tok{i} " for i in range(DELTAS)]
    ref_sink = io.StringIO()
    start = time.process_time()
    for text in events:
        ref_sink.write(json.dumps({"schema_version": 1, "type": "text", "text": text}) + "\n")
        ref_sink.flush()
    reference = time.process_time() - start
    return loop, reference


def whole_process(runs: int = 5) -> tuple[float, float]:
    """Median CPU seconds (user+sys of the child) for 10,000 deltas and for 1."""
    env = {**os.environ, "XDG_DATA_HOME": tempfile.mkdtemp(), "XDG_CONFIG_HOME": tempfile.mkdtemp()}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached outside the tree, as for an installed program
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp()
    with tempfile.TemporaryDirectory() as tmp:
        big, one = Path(tmp, "big.json"), Path(tmp, "one.json")
        big.write_text(json.dumps(script(DELTAS)))
        one.write_text(json.dumps(script(1)))

        def cpu(path: Path) -> float:
            before = os.times()
            subprocess.run(
                [sys.executable, "-m", "agentshell", "launch", "-m", f"scripted:{path}", "-p", "go",
                 "--output-format", "stream-json"],
                cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True,
            )  # fmt: skip
            after = os.times()
            return (after.children_user - before.children_user) + (after.children_system - before.children_system)

        return statistics.median(cpu(big) for _ in range(runs)), statistics.median(cpu(one) for _ in range(runs))


def main() -> None:
    in_process()  # warm up
    loop, reference = min(in_process() for _ in range(3))
    print(f"loop_overhead: in-process, {DELTAS:,} deltas: {loop / DELTAS * 1e6:.1f} us per delta through the loop")
    print(
        f"loop_overhead: reference (json.dumps + write only) {reference / DELTAS * 1e6:.1f} us per delta; "
        f"loop = {loop / reference:.1f}x the reference"
    )
    big, one = whole_process()
    print(
        f"loop_overhead: agent process, {DELTAS:,} deltas {big * 1000:.0f} ms CPU vs 1 delta {one * 1000:.0f} ms: "
        f"{(big - one) / DELTAS * 1e6:.1f} us per delta (includes parsing the script)"
    )


if __name__ == "__main__":
    main()
