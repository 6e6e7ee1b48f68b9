"""Newline-delimited JSON-RPC over stdio for ``agent acp``, answering what is not a message.

The ACP SDK dispatches requests, validates their parameters and answers unknown methods. What it
does not do is answer a line that is not JSON (it logs and skips it) and survive one that is JSON
but not an object (its receive loop ends). This transport answers both with the JSON-RPC error the
specification gives, ``-32700 Parse error`` or ``-32600 Invalid Request`` with a null id, and hands the SDK
only objects. stdout carries nothing but these messages: ``agent acp`` moves every other writer to
stderr first (cli/acp_server.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

MAX_MESSAGE_BYTES = 50 * 1024 * 1024  # the SDK's own limit: a prompt may embed whole files


class StdioTransport:
    """An ``acp`` Transport (``send``, ``receive``, ``close``) on asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()  # one message at a time, in the order they were sent
        self._closed = False

    async def send(self, message: dict[str, Any]) -> None:
        if self._closed:
            raise ConnectionError("the client has gone")
        data = (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        async with self._lock:
            self._writer.write(data)
            await self._writer.drain()

    async def receive(self) -> dict[str, Any] | None:
        """The next message, or None when the client closed its end."""
        while True:
            line = await self._line()
            if line is None:
                return None
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except (ValueError, RecursionError) as exc:
                await self._error(-32700, "Parse error", str(exc).splitlines()[0] if str(exc) else "not JSON")
                continue
            if not isinstance(message, dict) or not ("method" in message or "id" in message):
                await self._error(-32600, "Invalid Request", "a message is a JSON object with a method or an id")
                continue
            return message

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()

    async def _line(self) -> bytes | None:
        try:
            return await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial or None  # a last line without its newline still counts
        except asyncio.LimitOverrunError:
            while True:  # skip the rest of the oversized line
                try:
                    await self._reader.readuntil(b"\n")
                    break
                except asyncio.LimitOverrunError as exc:
                    await self._reader.readexactly(exc.consumed)
                except asyncio.IncompleteReadError:
                    return None
            await self._error(-32600, "Invalid Request", f"a message is at most {MAX_MESSAGE_BYTES} bytes")
            return b""

    async def _error(self, code: int, message: str, details: str) -> None:
        error = {"code": code, "message": message, "data": details}
        with contextlib.suppress(ConnectionError, OSError):  # the client has gone: nobody to tell
            await self.send({"jsonrpc": "2.0", "id": None, "error": error})
