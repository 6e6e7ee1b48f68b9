"""MCP servers for the tests, written with the SDK's own server API (``mcp.server.mcpserver.MCPServer``).

``python mcp_servers.py stdio`` serves over stdin/stdout (``envdump FILE`` first writes its environment to
FILE as JSON); ``python mcp_servers.py silent`` reads stdin and never answers (not even ``initialize``);
:func:`serve_http` runs the same tools over streamable HTTP on 127.0.0.1 in a thread, optionally behind
a bearer token.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

BIG = 10 * 1024 * 1024  # the "10 MB result" the issue asks for


def build() -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp_types import ToolAnnotations

    server = MCPServer("agentshell-test")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def echo(text: str) -> str:
        """Say the text back."""
        return f"echo: {text}"

    @server.tool()
    def write_note(text: str) -> str:
        """Pretend to write a note (not read-only: it asks)."""
        return f"noted {text}"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def big() -> str:
        """Return ten megabytes of text."""
        line = "0123456789" * 9 + "abcdefghi\n"  # 100 bytes a line
        return line * (BIG // len(line))

    @server.tool()
    def crash() -> str:
        """Die in the middle of the call, the way a server with a bug does."""
        os._exit(3)

    @server.tool()
    def slow(seconds: float) -> str:
        """Sleep, then answer."""
        time.sleep(seconds)
        return "woke up"

    @server.tool()
    def pid() -> str:
        """This server's process id."""
        return str(os.getpid())

    @server.prompt()
    def review(path: str, focus: str = "bugs") -> str:
        """Review a file."""
        return f"Please review {path}, looking for {focus}."

    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_http(token: str | None = None) -> Iterator[str]:
    """The test server over streamable HTTP in a thread; yields its URL."""
    import uvicorn

    app = build().streamable_http_app()
    if token is not None:
        app = _require_bearer(app, token)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test HTTP server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.should_exit = True
        thread.join(10)


def _require_bearer(app: Any, token: str) -> Any:
    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if headers.get(b"authorization") != f"Bearer {token}".encode():
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b"no token"})
                return
        await app(scope, receive, send)

    return guarded


if __name__ == "__main__":
    if sys.argv[1:] == ["silent"]:
        sys.stdin.read()  # takes the requests, answers none, exits when stdin closes
    else:
        if sys.argv[1:2] == ["envdump"]:  # writes the environment it was started with to a file, then serves
            with open(sys.argv[2], "w", encoding="utf-8") as dump:
                json.dump(dict(os.environ), dump)
        build().run("stdio")
