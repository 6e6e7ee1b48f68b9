"""How soon the REPL shows the model's first character, and what it costs while it waits.

The real ``agent launch`` runs on a pseudo-terminal with a scripted model whose first event
comes ``--delay`` seconds after each request. Enter is the ``\\r`` written to the pty; the
first character is the moment the answer's first byte is read back from it. So

    overhead = (Enter -> first character on the terminal) - delay

is everything the REPL adds around the backend's first event: reading the line, the
checkpoint and the request fitting before it, rendering and writing after it. The goal is
under 20 ms.

Idle CPU is the agent process's user + system time (``/proc/PID/stat``, every thread) over a
wait, as a share of one core: at the prompt, waiting for a slow model (first event after 3 s)
and while a command runs (``sleep 3``, its live tail on screen). A busy loop shows as tens of
percent; waiting on events shows as about zero.

    uv run python benchmarks/repl_latency.py [--repeat 20] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pexpect

MARK = "QZX"  # the answer's first characters: found in the byte stream, never typed
PROMPT = "›".encode()  # prompt_toolkit draws the space after it with cursor moves
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14 and 15 of stat)


class Agent:
    """``agent launch`` on a pty; reads are timed to the moment bytes arrive."""

    def __init__(self, workspace: Path, model: str, *args: str) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", "NO_COLOR": "1"}
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "agentshell", "launch", "-m", model, *args],
            cwd=str(workspace),
            env=env,
            dimensions=(40, 100),
        )
        self.seen = b""

    def read_until(self, needle: bytes, timeout: float = 30.0) -> float:
        """Read until ``needle`` is in what arrived since the last call; returns when its bytes were read."""
        deadline = time.monotonic() + timeout
        while needle not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{needle!r} never came; got {self.seen[-300:]!r}")
            ready, _, _ = select.select([self.child.child_fd], [], [], left)
            if ready:
                self.seen += os.read(self.child.child_fd, 65536)
        at = time.perf_counter()
        self.seen = self.seen[self.seen.index(needle) + len(needle) :]
        return at

    def prompt(self) -> None:
        self.read_until(PROMPT)
        time.sleep(0.05)  # the prompt is drawn; let prompt_toolkit settle into reading keys
        self.drain()

    def drain(self) -> None:
        while select.select([self.child.child_fd], [], [], 0)[0]:
            self.seen += os.read(self.child.child_fd, 65536)
        self.seen = b""

    def send_line(self, line: str) -> float:
        self.child.send(line)
        self.drain()  # the echo of the typed text
        at = time.perf_counter()
        os.write(self.child.child_fd, b"\r")
        return at

    def cpu_over(self, seconds: float) -> float:
        """Share of one core the agent used over the next ``seconds`` (reading the pty meanwhile)."""
        start_cpu, start = cpu_seconds(self.child.pid), time.perf_counter()
        while time.perf_counter() - start < seconds:
            if select.select([self.child.child_fd], [], [], 0.05)[0]:
                self.seen += os.read(self.child.child_fd, 65536)
        return (cpu_seconds(self.child.pid) - start_cpu) / (time.perf_counter() - start)

    def close(self) -> None:
        self.child.sendcontrol("d")
        self.child.expect(pexpect.EOF, timeout=10)
        self.child.close()


def write_script(path: Path, responses: list[list[dict[str, Any]]]) -> str:
    path.write_text(json.dumps(responses), encoding="utf-8")
    return f"scripted:{path}"


def first_character(workspace: Path, repeat: int, delay: float) -> list[float]:
    """Enter -> first character, minus the model's delay, for ``repeat`` requests in one session."""
    answer = [{"type": "sleep", "seconds": delay}, {"type": "text", "text": f"{MARK} and the rest of the answer."}]
    model = write_script(workspace / "latency.json", [answer] * repeat)
    agent = Agent(workspace, model)
    overheads = []
    try:
        agent.prompt()
        for i in range(repeat):
            entered = agent.send_line(f"question {i}")
            shown = agent.read_until(MARK.encode())
            overheads.append(shown - entered - delay)
            agent.prompt()
    finally:
        agent.close()
    return overheads


def idle_cpu(workspace: Path, wait: float) -> dict[str, float]:
    slow = [{"type": "sleep", "seconds": wait + 0.5}, {"type": "text", "text": "slow answer"}]
    command = [{"type": "tool_call", "id": "c1", "name": "bash", "arguments": {"command": f"sleep {wait + 0.5:g}"}}]
    model = write_script(workspace / "idle.json", [slow, command, [{"type": "text", "text": "done"}]])
    agent = Agent(workspace, model, "--allow", f"bash(sleep {wait + 0.5:g})")
    try:
        agent.prompt()
        at_prompt = agent.cpu_over(wait)
        agent.send_line("a slow model")
        time.sleep(0.25)  # past the request's own work: from here the REPL only waits
        waiting = agent.cpu_over(wait)
        agent.read_until(b"slow answer")
        agent.prompt()
        agent.send_line("run a command")
        time.sleep(0.25)
        running = agent.cpu_over(wait)
        agent.read_until(b"done")
        agent.prompt()
    finally:
        agent.close()
    return {"at the prompt": at_prompt, "waiting for a slow model": waiting, "a command running": running}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="requests timed (default 20)")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds before the model's first event")
    parser.add_argument("--wait", type=float, default=3.0, help="seconds of each idle CPU measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
            (root / sub).mkdir()
            os.environ[var] = str(root / sub)
        workspace = root / "work"
        workspace.mkdir()
        overheads = sorted(first_character(workspace, args.repeat, args.delay))
        cpu = idle_cpu(workspace, args.wait)
    ms = [1000 * o for o in overheads]
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    print(f"Enter -> first character, minus the model's {args.delay:g} s before its first event ({len(ms)} requests):")
    print(f"  median {statistics.median(ms):.1f} ms   p90 {p90:.1f} ms   min {ms[0]:.1f} ms   max {ms[-1]:.1f} ms")
    print(f"  goal: under 20 ms -> {'met' if statistics.median(ms) < 20 else 'NOT met'}")
    print(f"Idle CPU of the agent process (share of one core, over {args.wait:g} s):")
    for what, share in cpu.items():
        print(f"  {what:<26} {100 * share:5.1f} %")


if __name__ == "__main__":
    main()
