"""ACP latency: from ``session/prompt`` to the first ``agent_message_chunk``, against the backend's first event.

Two models, each asked the same short prompt RUNS times in one session of a real ``agent acp``
process, driven by the ACP SDK's client as an editor would:

1. Ollama's backend on a fake Ollama (tests/backends/ollama/fake_server.py, in its own process): the
   reference is ``OllamaBackend.chat()``'s first text event, in-process, on a warm backend;
2. the scripted backend, whose first event costs nothing: all of its time is agentshell's.

The overhead is the median ACP time minus the median reference (target < 20 ms): JSON-RPC both
ways, the hand-over to the main thread, the session's transcript line (fsynced), checkpoints and
context fitting before the request, and the update's way back.

    uv run python benchmarks/acp_latency.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
FAKE_SERVER = ROOT / "tests" / "backends" / "ollama" / "fake_server.py"
MODEL = "bench-model"
SHOW = {"model_info": {"general.architecture": "llama", "llama.context_length": 8192}, "capabilities": ["tools"]}


def serve() -> None:
    """Child process: the fake Ollama until stdin closes, its URL on the first line."""
    spec = importlib.util.spec_from_file_location("ollama_fake_server", FAKE_SERVER)
    assert spec is not None and spec.loader is not None
    fake = importlib.util.module_from_spec(spec)
    sys.modules["ollama_fake_server"] = fake
    spec.loader.exec_module(fake)
    token = {"model": MODEL, "done": False}
    lines: list[Any] = [{**token, "message": {"role": "assistant", "content": f"{i} "}} for i in range(20)]
    lines.append({**token, "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"})
    with fake.fake_ollama() as server:
        server.script("POST", "/api/show", fake.Reply(body=SHOW))
        server.script("POST", "/api/chat", fake.Reply(lines=lines))
        print(server.url, flush=True)
        sys.stdin.read()


def backend_first_event(url: str, runs: int) -> float:
    from agentshell.protocol import ChatOptions, Message, TextDelta
    from agentshell.registry import BackendPool

    backend, model = BackendPool({"ollama": {"host": url}}).resolve(f"ollama:{MODEL}")
    backend.describe(model)
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        stream = backend.chat(model, [Message(role="user", content="count")], options=ChatOptions())
        first = next(time.perf_counter() - started for e in stream if isinstance(e, TextDelta))
        for _ in stream:
            pass
        times.append(first)
    return statistics.median(times[1:])


class Editor:
    def __init__(self) -> None:
        self.first: asyncio.Future[float] | None = None

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        if update.session_update == "agent_message_chunk" and self.first is not None and not self.first.done():
            self.first.set_result(time.perf_counter())

    async def request_permission(self, **kwargs: Any) -> Any:
        raise RuntimeError("no tools in this benchmark")


async def acp_first_chunk(cwd: Path, model_args: list[str], runs: int) -> float:
    from acp import PROTOCOL_VERSION, schema, spawn_agent_process

    editor = Editor()
    async with spawn_agent_process(
        cast(Any, editor), sys.executable, "-m", "agentshell", "acp", *model_args, env=dict(os.environ), cwd=cwd,
        transport_kwargs={"stderr": subprocess.DEVNULL},
    ) as (conn, _):  # fmt: skip
        await conn.initialize(protocol_version=PROTOCOL_VERSION)
        session = await conn.new_session(cwd=str(cwd), mcp_servers=[])
        times = []
        for _ in range(runs + 1):
            editor.first = asyncio.get_running_loop().create_future()
            prompt: list[Any] = [schema.TextContentBlock(type="text", text="count")]
            started = time.perf_counter()
            answered = asyncio.create_task(conn.prompt(session_id=session.session_id, prompt=prompt))
            times.append(await editor.first - started)
            await answered
        return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    root = Path(tempfile.mkdtemp(prefix="agentshell-bench-acp-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        os.environ[var] = str(root / var.lower())
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    cwd = root / "workspace"
    cwd.mkdir()
    script = root / "script.json"
    script.write_text(json.dumps([[{"type": "text", "text": "1 "}, {"type": "text", "text": "2"}]] * (args.runs + 1)))

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        reference = backend_first_event(url, args.runs)
        ollama = asyncio.run(acp_first_chunk(cwd, ["--model", f"ollama:{MODEL}", "--host", url], args.runs))
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=10)
    scripted = asyncio.run(acp_first_chunk(cwd, ["--model", f"scripted:{script}"], args.runs))
    print(
        f"acp_latency: ollama (fake): backend's first event {reference * 1000:5.1f} ms, first agent_message_chunk "
        f"{ollama * 1000:5.1f} ms: overhead {(ollama - reference) * 1000:5.1f} ms (median of {args.runs})"
    )
    print(f"acp_latency: scripted: first agent_message_chunk {scripted * 1000:5.1f} ms, all of it overhead")


if __name__ == "__main__":
    main()
