"""A conversation of N messages: one ``--input-format stream-json`` process against N ``-p --continue`` runs.

Both hold the same conversation in one session on the scripted model (no model time at all), so
what differs is what stream-json input pays once and ``-p`` pays per message: the interpreter's
start-up, the imports, the config, the session load (which grows with the conversation), the
backend's construction and the checkpoint store.

    uv run python benchmarks/stream_input.py [MESSAGES]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENT = [sys.executable, "-m", "agentshell", "launch"]


def workspace(messages: int) -> tuple[Path, str]:
    root = Path(tempfile.mkdtemp(prefix="agentshell-bench-input-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = str(root / var.lower())
    script = root / "script.json"
    script.write_text(json.dumps([[{"type": "text", "text": "ok"}]] * messages), encoding="utf-8")
    return root, f"scripted:{script}"


def one_process(messages: int) -> float:
    cwd, model = workspace(messages)
    lines = "".join(
        json.dumps({"type": "user", "message": {"role": "user", "content": f"message {i}"}}) + "\n"
        for i in range(messages)
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [*AGENT, "-m", model, "--input-format", "stream-json", "--output-format", "stream-json"],
        input=lines,
        capture_output=True,
        text=True,
        cwd=cwd,
        check=True,
    )
    took = time.perf_counter() - start
    results = [line for line in proc.stdout.splitlines() if '"type":"result"' in line]
    assert len(results) == messages, proc.stderr
    return took


def separate_runs(messages: int) -> float:
    cwd, model = workspace(messages)
    start = time.perf_counter()
    for i in range(messages):
        more = ["--continue"] if i else []
        subprocess.run(
            [*AGENT, "-m", model, "-p", f"message {i}", *more],
            capture_output=True,
            text=True,
            cwd=cwd,
            check=True,
            stdin=subprocess.DEVNULL,
        )
    return time.perf_counter() - start


def main() -> None:
    messages = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    # What an installed program costs: bytecode cached (outside the tree), as after the first run.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="agentshell-bench-pycache-")
    one_process(2)  # warm the bytecode cache and the file cache
    stream = one_process(messages)
    runs = separate_runs(messages)
    print(
        f"stream_input: {messages} messages: one stream-json process {stream:6.2f} s "
        f"({stream / messages * 1000:6.1f} ms/message); {messages} `-p --continue` runs {runs:6.2f} s "
        f"({runs / messages * 1000:6.1f} ms/message); {runs / stream:4.1f}x"
    )


if __name__ == "__main__":
    main()
