"""A small Ollama stand-in on 127.0.0.1 for the faults respx cannot stage.

Replies are scripted per route: a status, ndjson lines sent as HTTP/1.1 chunks
(one chunk per line, flushed, as Ollama does), and the faults a real network
produces: a slow first byte, a stall mid-stream, a connection cut without the
final chunk. Every request body is recorded for assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    lines: Sequence[bytes | str | dict[str, Any]] = ()  # streamed, one ndjson line per chunk
    body: bytes | dict[str, Any] | None = None  # sent whole instead of lines (errors, /api/show)
    headers: dict[str, str] = field(default_factory=dict)
    first_byte_delay: float = 0.0  # seconds before the status line
    stall_after: int | None = None  # after this many lines, send nothing for stall_seconds
    stall_seconds: float = 0.0
    cut_after: int | None = None  # after this many lines, drop the connection mid-body


def _line(item: bytes | str | dict[str, Any]) -> bytes:
    if isinstance(item, dict):
        return json.dumps(item).encode() + b"\n"
    data = item.encode() if isinstance(item, str) else item
    return data if data.endswith(b"\n") else data + b"\n"


class FakeOllama(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[tuple[str, str, Any]] = []  # (method, path, parsed JSON body or None)
        self.stopping = threading.Event()
        self._lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (tests do it on purpose) is not a server error worth a traceback."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Answer the next requests with ``replies`` in order; the last one repeats."""
        self.routes[(method, path)] = list(replies)

    def next_reply(self, method: str, path: str) -> Reply | None:
        with self._lock:
            queue = self.routes.get((method, path))
            if not queue:
                return None
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def bodies(self, path: str) -> list[Any]:
        return [body for _, p, body in self.requests if p == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as Ollama's Go server has: without it a response's first chunk, written after its headers,
    # waits for the client's delayed ACK (~40 ms) whenever the timing lines up, which benchmarks then measure.
    disable_nagle_algorithm = True
    server: FakeOllama

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        self.server.requests.append((method, self.path, parsed))
        reply = self.server.next_reply(method, self.path)
        if reply is None:
            reply = Reply(status=404, body={"error": f"no route {method} {self.path}"})
        if reply.first_byte_delay and self.server.stopping.wait(reply.first_byte_delay):
            return
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        if reply.body is not None:
            body = json.dumps(reply.body).encode() if isinstance(reply.body, dict) else reply.body
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for index, item in enumerate(reply.lines):
                if reply.cut_after is not None and index == reply.cut_after:
                    self.close_connection = True
                    return
                stall = reply.stall_after is not None and index == reply.stall_after
                if stall and self.server.stopping.wait(reply.stall_seconds):
                    return
                data = _line(item)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            if reply.cut_after is not None and reply.cut_after >= len(reply.lines):
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client hung up: that is what several tests do on purpose
            self.close_connection = True


@contextmanager
def fake_ollama() -> Iterator[FakeOllama]:
    server = FakeOllama()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
