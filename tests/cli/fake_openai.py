"""A tiny OpenAI-compatible server on 127.0.0.1 that plays scripted replies and keeps every request body.

The scripted backend runs inside the agent process, so a test cannot see what would have gone over the wire;
this one is a real HTTP server the ``openai`` backend talks to, for tests about what reaches a model server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def tool_call_reply(name: str, arguments: dict[str, Any], cid: str = "call_1") -> dict[str, Any]:
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}],
    }
    return {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}


def text_reply(text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    return {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}


@dataclass
class FakeServer:
    replies: list[dict[str, Any]]
    bodies: list[bytes] = field(default_factory=list)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@contextmanager
def fake_openai(replies: list[dict[str, Any]]) -> Iterator[FakeServer]:
    """Serve ``replies`` in order to ``POST /v1/chat/completions`` (whole JSON bodies, no streaming)."""
    state = FakeServer(list(replies))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send({"object": "list", "data": [{"id": "fake", "object": "model"}]})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.bodies.append(body)
                reply = state.replies.pop(0) if state.replies else text_reply("no more replies")
            self._send(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
