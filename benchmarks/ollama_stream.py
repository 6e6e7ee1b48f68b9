"""Benchmark: agentshell's Ollama path against the official ``ollama`` client on the same stream.

A fake Ollama (tests/backends/ollama/fake_server.py, in its own process so it
does not share a GIL with what is measured) answers every /api/chat with
5,000 chunks. Measured, as ratios against the official client in this run:

1. wall time of a whole ``agent launch -p … --output-format text --model … --host …``
   process versus a process that streams the same chat with ``ollama.Client`` and
   prints it (target ≤ 1.3 for the default 5,000-chunk stream; ≤ 1.15 for the
   one-chunk cold path, ``--chunks 1``, issue 13);
2. time to first token, in-process, of ``OllamaBackend.chat()`` versus
   ``ollama.Client.chat(stream=True)`` (target overhead < 30 ms), for a fresh
   backend (it asks /api/show first) and a warm one;
3. in-process throughput over the 5,000 chunks.

Process runs cache bytecode in a private temporary folder, as an installed
program would (see ``run``). Run: uv run python benchmarks/ollama_stream.py [--chunks N] [--runs N]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FAKE_SERVER = ROOT / "tests" / "backends" / "ollama" / "fake_server.py"
MODEL = "bench-model"
PROMPT = "Write the numbers."
SHOW = {
    "model_info": {"general.architecture": "llama", "llama.context_length": 8192},
    "capabilities": ["completion", "tools"],
}

OFFICIAL_SCRIPT = """
import sys, ollama
client = ollama.Client(host=sys.argv[1])
out = sys.stdout
for part in client.chat(model=sys.argv[2], messages=[{"role": "user", "content": sys.argv[3]}], stream=True):
    if part.message.content:
        out.write(part.message.content)
        out.flush()
out.write("\\n")
"""


def serve(chunks: int) -> None:
    """Child process: run the fake Ollama until stdin closes, printing its URL first."""
    spec = importlib.util.spec_from_file_location("ollama_fake_server", FAKE_SERVER)
    assert spec is not None and spec.loader is not None
    fake = importlib.util.module_from_spec(spec)
    sys.modules["ollama_fake_server"] = fake
    spec.loader.exec_module(fake)
    token = {"model": MODEL, "created_at": "2025-10-26T17:15:24.097767Z", "done": False}
    lines: list[Any] = [{**token, "message": {"role": "assistant", "content": f"{i} "}} for i in range(chunks)]
    lines.append(
        {
            **token,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 20,
            "eval_count": chunks,
        }
    )
    with fake.fake_ollama() as server:
        server.script("POST", "/api/show", fake.Reply(body=SHOW))
        server.script("POST", "/api/chat", fake.Reply(lines=lines))
        server.script("GET", "/api/version", fake.Reply(body={"version": "0.12.0"}))
        print(server.url, flush=True)
        sys.stdin.read()


def timed_process(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return elapsed, done.stdout


def ttft_official(url: str) -> tuple[float, float]:
    import ollama

    client = ollama.Client(host=url)
    started = time.perf_counter()
    first = 0.0
    for part in client.chat(model=MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True):
        if not first and part.message.content:
            first = time.perf_counter() - started
    return first, time.perf_counter() - started


def ttft_backend(make: Callable[[], Any]) -> tuple[float, float]:
    from agentshell.protocol import ChatOptions, Message, TextDelta

    backend = make()
    started = time.perf_counter()
    first = 0.0
    for event in backend.chat(MODEL, [Message(role="user", content=PROMPT)], options=ChatOptions()):
        if not first and isinstance(event, TextDelta):
            first = time.perf_counter() - started
    return first, time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5, help="process runs per side")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.chunks)
        return

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--chunks", str(args.chunks)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        run(url, args)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)


def run(url: str, args: argparse.Namespace) -> None:
    from agentshell_ollama import OllamaBackend

    expected = "".join(f"{i} " for i in range(args.chunks))
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NO_COLOR": "1"}
        for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
            env[var] = str(Path(tmp) / sub)
        for var in ("AGENT_MODEL", "AGENT_BACKEND", "OLLAMA_HOST", "OLLAMA_API_KEY", "AGENT_CONFIG"):
            env.pop(var, None)
        # Installed programs start from cached bytecode. Where PYTHONDONTWRITEBYTECODE is set, every process
        # would compile its imports from source (seconds), so both sides cache bytecode in a private folder
        # (nothing is written into the environment); the dropped first pair of runs fills it.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        agent = [sys.executable, "-m", "agentshell", "launch", "-p", PROMPT, "--output-format", "text"]
        agent += ["--model", MODEL, "--host", url]
        official = [sys.executable, "-c", OFFICIAL_SCRIPT, url, MODEL, PROMPT]

        agent_times: list[float] = []
        official_times: list[float] = []
        for _ in range(args.runs + 1):  # the first pair warms the page cache and is dropped
            elapsed, out = timed_process(agent, env, tmp)
            if out.strip() != expected.strip():
                raise SystemExit(f"agent printed something else: {out[:120]!r}")
            agent_times.append(elapsed)
            elapsed, out = timed_process(official, env, tmp)
            if out.strip() != expected.strip():
                raise SystemExit(f"the official client printed something else: {out[:120]!r}")
            official_times.append(elapsed)
        agent_s, official_s = median(agent_times[1:]), median(official_times[1:])

    # In-process: import everything first, drop the first run of each.
    fresh_runs: list[tuple[float, float]] = []
    warm_runs: list[tuple[float, float]] = []
    official_runs: list[tuple[float, float]] = []
    warm = OllamaBackend({"host": url})
    ttft_backend(lambda: warm)
    ttft_official(url)
    for _ in range(max(5, args.runs * 2)):
        official_runs.append(ttft_official(url))
        fresh_runs.append(ttft_backend(lambda: OllamaBackend({"host": url})))
        warm_runs.append(ttft_backend(lambda: warm))
    o_first, o_total = median([r[0] for r in official_runs]), median([r[1] for r in official_runs])
    f_first = median([r[0] for r in fresh_runs])
    w_first, w_total = median([r[0] for r in warm_runs]), median([r[1] for r in warm_runs])

    print(f"ollama stream benchmark: {args.chunks} chunks, {args.runs} process runs per side, medians")
    print(f"  whole process   agent launch -p ... --output-format text   {agent_s * 1000:8.1f} ms")
    print(f"                  official ollama client script               {official_s * 1000:8.1f} ms")
    ratio = agent_s / official_s
    target = 1.15 if args.chunks == 1 else 1.3  # one chunk is the cold path of issue 13
    print(f"                  wall-time ratio agent/official               {ratio:8.2f}   (target <= {target})")
    print(f"  in-process      OllamaBackend.chat() whole stream            {w_total * 1000:8.1f} ms")
    print(f"                  ollama.Client.chat(stream=True)              {o_total * 1000:8.1f} ms")
    print(f"                  throughput ratio backend/official            {w_total / o_total:8.2f}")
    print(f"  first token     official client                              {o_first * 1000:8.2f} ms")
    print(f"                  backend, warm (show cached)                  {w_first * 1000:8.2f} ms")
    print(f"                  backend, fresh instance (+ /api/show)        {f_first * 1000:8.2f} ms")
    print(
        f"                  TTFT overhead warm / fresh                   {(w_first - o_first) * 1000:+8.2f} ms"
        f" / {(f_first - o_first) * 1000:+.2f} ms   (target < 30 ms)"
    )


if __name__ == "__main__":
    main()
