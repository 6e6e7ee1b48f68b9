"""One streaming HTTP request read on a worker thread, so the caller can keep time.

A blocking read cannot be interrupted to say "loading model…" after two
seconds, nor to tell a cold model load (minutes, allowed) from a stalled stream
(seconds, an error). The worker does the blocking I/O and passes each piece it
reads through a queue; the generator that consumes the queue applies the
first-token and idle timeouts with ``Queue.get(timeout=...)``.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Opened:
    """The status line and headers arrived."""

    status: int
    headers: dict[str, str]


@dataclass(frozen=True)
class Data:
    chunk: bytes


@dataclass(frozen=True)
class Finished:
    """The server closed the body normally."""


@dataclass(frozen=True)
class Failed:
    error: BaseException


Piece = Opened | Data | Finished | Failed


class StreamingRequest:
    """A request whose response is pushed, piece by piece, into :attr:`pieces`.

    For an error status the whole (small) body follows as one :class:`Data`
    piece. :meth:`close` stops the worker: it shuts the socket down so a read
    blocked on a stalled server returns at once.
    """

    def __init__(self, client: httpx.Client, request: httpx.Request) -> None:
        self.pieces: queue.SimpleQueue[Piece] = queue.SimpleQueue()
        self._client = client
        self._request = request
        self._stop = threading.Event()
        self._resume = threading.Event()  # set once the consumer holds the first chunk
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, name="ollama-stream", daemon=True)

    def start(self) -> StreamingRequest:
        self._thread.start()
        return self

    def next(self, timeout: float | None) -> Piece | None:
        """The next piece, or None when ``timeout`` seconds passed without one."""
        try:
            piece = self.pieces.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(piece, Data) and not self._resume.is_set():
            self._resume.set()
        return piece

    def _run(self) -> None:
        try:
            response = self._client.send(self._request, stream=True)
        except BaseException as exc:  # handed to the consumer, which maps it to a protocol error
            self.pieces.put(Failed(exc))
            return
        self._response = response
        try:
            if self._stop.is_set():  # closed while the headers were on their way
                return
            opened = Opened(response.status_code, dict(response.headers))
            if response.status_code >= 400:
                body = response.read()
                self.pieces.put(opened)
                self.pieces.put(Data(body))
                self.pieces.put(Finished())
                return
            chunks = response.iter_bytes()
            # The status goes out with the first chunk, and the worker then pauses until the consumer
            # has taken it: a worker that went on reading a fast stream would hold the GIL while the
            # consumer waits for it, adding milliseconds (tens on a busy machine) to the first token.
            first = next(chunks, None)
            self.pieces.put(opened)
            if first is not None:
                self.pieces.put(Data(first))
                self._resume.wait()
            for chunk in chunks:
                if self._stop.is_set():
                    return
                self.pieces.put(Data(chunk))
            self.pieces.put(Finished())
        except BaseException as exc:
            if not self._stop.is_set():
                self.pieces.put(Failed(exc))
        finally:
            response.close()

    def close(self) -> None:
        self._stop.set()
        self._resume.set()
        response = self._response
        if response is None:
            return
        stream: Any = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed by the server or the worker
                sock.shutdown(socket.SHUT_RDWR)
