"""MCP servers, started in the background and spoken to through the official SDK (PyPI ``mcp``).

One daemon thread runs an event loop; each server is a task in it that connects (stdio or
streamable HTTP), lists its tools and prompts within ``startup_timeout``, then waits until the
agent stops or the connection is lost. The agent's thread hands it work with
``loop.call_soon_threadsafe``, which never blocks, and waits on a future with a deadline, so a
loop that is stuck (a lock, blocking I/O, an SDK bug) can delay a call or ``close()`` only by a
bounded time. Nothing here prints: what the user should hear (a server that failed or died) is
queued and handed out by :meth:`McpHub.take_notices` on the agent's thread, so a notice never
lands in the middle of the prompt being typed.

Children never outlive the agent: stdio servers run in their own session, and on
:meth:`McpHub.close` (exit, Ctrl-C, an error) the SDK closes their stdin, waits, then kills their
process group; when the loop cannot do that in time, or a second Ctrl-C cuts the wait short,
``close()`` kills the groups itself (their pids are recorded as the SDK spawns them; process_group.py
makes sure a pid freed meanwhile and reused by another process is left alone). If the agent
itself is killed, their stdin reaches EOF and they exit on their own.
See docs/extensions.md#mcp-servers.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from contextvars import Context, copy_context
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO, TypeVar

from agentshell.extensions.mcp_config import ServerLaunch
from agentshell.extensions.mcp_sdk import all_prompts, all_tools, on_spawn, record_spawns, watched
from agentshell.extensions.process_group import close_pidfd, kill_group, open_pidfd
from agentshell.tools.base import ToolError

if TYPE_CHECKING:
    import asyncio

    import anyio
    import mcp_types
    from mcp import Client

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one SSE event (a tool result over HTTP); bigger is an error, not a hang
SHUTDOWN_SECONDS = 6.0  # the SDK's own bounds: 2 s for a server to exit after EOF, 2 s after SIGTERM, 2 s to reap
CLOSE_SECONDS = SHUTDOWN_SECONDS + 2  # how long close() waits for the loop before it kills the servers itself
ANSWER_GRACE_SECONDS = 5.0  # past tool_timeout, how long a call waits for a loop that has not ended it
_T = TypeVar("_T")

Status = Literal["starting", "ready", "failed", "stopped"]


@dataclass
class ServerState:
    """One server as the agent sees it; only the event-loop thread changes it."""

    name: str
    launch: ServerLaunch
    status: Status = "starting"
    error: str = ""
    tools: list[mcp_types.Tool] = field(default_factory=list)
    prompts: list[mcp_types.Prompt] = field(default_factory=list)
    client: Client | None = None
    started_s: float = 0.0  # seconds from start() to ready (or failure)
    lost: anyio.Event | None = None
    pid: int | None = None  # a stdio server's process (and process group) while the SDK has not stopped it
    pidfd: int | None = None  # names that very process even once its pid is freed (Linux; see process_group.py)


class McpHub:
    """The running MCP servers of one agent."""

    def __init__(self, servers: Mapping[str, ServerLaunch], *, log_dir: Path | None = None) -> None:
        self.servers = {name: ServerState(name, launch) for name, launch in servers.items()}
        self.log_dir = log_dir
        self.version = 0  # bumped whenever a server's tools appear or disappear
        self._loop: tuple[asyncio.AbstractEventLoop, Context] | None = None  # the loop, and its context for callbacks
        self._calls: anyio.abc.TaskGroup | None = None  # the agent's calls run here while the servers run
        self._thread: threading.Thread | None = None
        self._settled = threading.Event()
        # Set as the loop thread ends. Not Thread.join/is_alive: Ctrl-C inside join() leaves is_alive() False on 3.11.
        self._finished = threading.Event()
        self._stop: anyio.Event | None = None
        self._notices: list[str] = []
        self._lock = threading.Lock()
        self._started_at = 0.0
        self._closed = False
        self._abandoned = False  # close() gave up waiting for the loop and killed the servers itself

    # ------------------------------------------------------------------ the agent's thread

    def start(self) -> None:
        """Start every server concurrently and return at once."""
        if self._thread is not None or not self.servers:
            self._settled.set()
            return
        self._started_at = time.monotonic()
        self._thread = threading.Thread(target=self._thread_main, name="mcp-servers", daemon=True)
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no server is still starting (each has its own deadline); False when ``timeout`` ran out."""
        return self._settled.wait(timeout)

    @property
    def deadline(self) -> float:
        """The longest any server may take to start."""
        return max((s.launch.config.startup_timeout for s in self.servers.values()), default=0.0)

    def take_notices(self) -> list[str]:
        with self._lock:
            taken, self._notices = self._notices, []
        return taken

    def ready(self) -> list[ServerState]:
        return [s for s in self.servers.values() if s.status == "ready"]

    def call_tool(self, server: str, tool: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """One ``tools/call``; a ToolError the model can read for every way it can fail. Ctrl-C cancels it."""
        state = self._usable(server)
        timeout = state.launch.config.tool_timeout
        return self._run(state, self._call_tool(state, tool, arguments, timeout))

    def get_prompt(self, server: str, prompt: str, arguments: dict[str, str]) -> mcp_types.GetPromptResult:
        state = self._usable(server)
        timeout = state.launch.config.tool_timeout
        return self._run(state, self._get_prompt(state, prompt, arguments, timeout))

    def close(self) -> None:
        """Stop every server within ``CLOSE_SECONDS``, whatever the loop is doing; safe to call twice, and from atexit.

        Nothing here waits on the loop without a deadline: the stop is posted, not called. What the loop
        has not stopped by then (it is stuck), or when Ctrl-C cuts the wait short, is killed here.
        """
        if self._closed:
            return
        self._closed = True  # before the loop is read: _main checks it after publishing the loop
        if self._thread is None:
            return
        try:
            self._post_stop()
            self._finished.wait(CLOSE_SECONDS)
        finally:
            if not self._finished.is_set():
                self._abandoned = True  # before the pids are read: _spawned checks it after recording one
                self._kill_servers()

    # ------------------------------------------------------------------ helpers for the agent's thread

    def _usable(self, server: str) -> ServerState:
        state = self.servers.get(server)
        if state is None or state.status != "ready" or state.client is None or self._calls is None:
            why = f": {state.error}" if state is not None and state.error else ""
            raise ToolError(f"MCP server {server} is not running{why}")
        return state

    def _run(self, state: ServerState, work: Awaitable[_T]) -> _T:
        """``work`` in the loop, waited for here with a deadline; Ctrl-C cancels it there and goes on here."""
        future = Future[_T]()
        limit = state.launch.config.tool_timeout + ANSWER_GRACE_SECONDS
        try:
            try:
                self._post(self._begin, future, work)
            except RuntimeError:  # the loop has closed: the work never ran
                _discard(work)
                raise ToolError("the MCP servers are shutting down") from None
            return self._wait(future, limit)
        except TimeoutError:
            future.cancel()
            if self._finished.is_set():
                raise ToolError("the MCP servers are shutting down") from None
            why = f"the MCP client did not answer within {limit:g} s; the call to {state.name} was abandoned"
            raise ToolError(why) from None
        except KeyboardInterrupt:
            future.cancel()  # the request is cancelled in the loop; the server gets notifications/cancelled
            raise

    def _wait(self, future: Future[_T], limit: float) -> _T:
        """The future's outcome; TimeoutError after ``limit`` s, or as soon as the loop thread has ended."""
        deadline = time.monotonic() + limit
        while True:
            try:
                return future.result(timeout=max(0.0, min(1.0, deadline - time.monotonic())))
            except TimeoutError:
                if future.done():
                    raise  # the work's own TimeoutError
                if time.monotonic() >= deadline or self._finished.is_set():
                    raise

    def _post(self, callback: Callable[..., object], *args: Any) -> None:
        """Have the loop run ``callback`` soon, without waiting for it; RuntimeError when the loop has closed.

        It runs in a copy of the loop's own context, where anyio knows which event loop it is on.
        """
        if self._loop is None:
            raise RuntimeError("the event loop has not started")
        loop, context = self._loop
        loop.call_soon_threadsafe(callback, *args, context=context.copy())

    def _post_stop(self) -> None:
        stop = self._stop
        if stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has not started (it checks _closed) or has closed
                self._post(stop.set)

    def _kill_servers(self) -> None:
        """The last resort: SIGKILL each stdio server's process group, which the SDK created for it."""
        for state in self.servers.values():
            pid = state.pid
            if pid is not None:
                kill_group(pid, state.pidfd)

    def _notice(self, line: str) -> None:
        with self._lock:
            self._notices.append(line)

    # ------------------------------------------------------------------ the event-loop thread

    def _thread_main(self) -> None:
        import anyio

        try:
            anyio.run(self._main)
        except BaseException as exc:  # an SDK bug must not take the agent down: its servers are just gone
            for state in self.servers.values():
                if state.status in ("starting", "ready"):
                    self._fail(state, f"the MCP client stopped: {type(exc).__name__}: {exc}")
        finally:
            self._kill_servers()  # only those whose transport never closed are still recorded
            self._settled.set()
            self._finished.set()

    async def _main(self) -> None:
        import asyncio

        import anyio

        record_spawns()
        self._stop = anyio.Event()
        self._loop = asyncio.get_running_loop(), copy_context()
        if self._closed:  # close() came before the loop was published, so it could not post the stop
            self._stop.set()
        try:
            async with anyio.create_task_group() as calls:
                self._calls = calls
                async with anyio.create_task_group() as tg:
                    for state in self.servers.values():
                        state.lost = anyio.Event()
                        tg.start_soon(self._serve, state)
                    await self._stop.wait()
                    for state in self.servers.values():
                        if state.lost is not None:
                            state.lost.set()
                    tg.cancel_scope.deadline = anyio.current_time() + SHUTDOWN_SECONDS
                calls.cancel_scope.cancel()  # the servers are gone: a call still waiting ends now
        finally:
            self._calls = None

    def _begin(self, future: Future[Any], work: Awaitable[Any]) -> None:
        """On the loop: start one call from the agent's thread, unless it was cancelled or the loop is ending."""
        calls = self._calls
        if calls is not None and not future.cancelled():
            with contextlib.suppress(RuntimeError):  # the task group has ended
                calls.start_soon(self._answer, future, work)
                return
        _discard(work)
        if future.set_running_or_notify_cancel():
            future.set_exception(ToolError("the MCP servers are shutting down"))

    async def _answer(self, future: Future[Any], work: Awaitable[Any]) -> None:
        """Run one call and settle its future; a cancelled future (Ctrl-C) cancels the call.

        The future stays pending until the end, so the agent's thread can still cancel it.
        """
        import anyio

        if future.cancelled():  # Ctrl-C came before the call began: nothing is sent
            _discard(work)
            return
        try:
            with anyio.CancelScope() as scope:

                def cancel_if_cancelled(done: Future[Any]) -> None:
                    if done.cancelled():
                        with contextlib.suppress(RuntimeError):  # the loop already closed
                            self._post(scope.cancel)

                future.add_done_callback(cancel_if_cancelled)
                value = await work
                if future.set_running_or_notify_cancel():
                    future.set_result(value)
        except Exception as exc:
            if future.set_running_or_notify_cancel():
                future.set_exception(exc)
        finally:
            if not future.done() and future.set_running_or_notify_cancel():  # the loop is ending
                future.set_exception(ToolError("the MCP servers are shutting down"))

    async def _serve(self, state: ServerState) -> None:
        import anyio
        from mcp import Client
        from mcp_types import Implementation

        from agentshell import __version__

        config = state.launch.config
        assert state.lost is not None and self._stop is not None
        on_spawn.set(lambda pid: self._spawned(state, pid))  # this task's own context: only this server's spawn
        # One scope for the server's whole life (anyio scopes must nest with the client's task groups): its
        # deadline is the start-up deadline, lifted once the server is ready.
        scope = anyio.CancelScope(deadline=anyio.current_time() + config.startup_timeout)
        try:
            with scope:
                async with AsyncExitStack() as stack:
                    errlog = stack.enter_context(self._errlog(state.name))
                    transport = await self._transport(state, stack, errlog)
                    client = Client(
                        transport,  # an async context manager of (read, write): what Client calls a Transport
                        client_info=Implementation(name="agentshell", version=__version__),
                        read_timeout_seconds=None,
                        cache=None,
                    )
                    await stack.enter_async_context(client)
                    state.tools = await all_tools(client)
                    state.prompts = await all_prompts(client)
                    scope.deadline = math.inf
                    state.client, state.status = client, "ready"
                    state.started_s = time.monotonic() - self._started_at
                    self._changed()
                    await state.lost.wait()
                    state.client = None
                    if not self._stop.is_set():
                        self._fail(state, f"stopped unexpectedly{_last_line(self._log_path(state.name))}")
            if scope.cancelled_caught and state.status == "starting":
                self._fail(state, f"did not start within {config.startup_timeout:g} s (startup_timeout)")
        except Exception as exc:
            self._fail(state, f"could not start: {_describe(exc)}{_last_line(self._log_path(state.name))}")
        finally:
            state.pid = None  # the SDK has stopped it (or given up on an unkillable one): never signal that pid again
            fd, state.pidfd = state.pidfd, None
            close_pidfd(fd)
            if state.status == "ready":
                state.status = "stopped"
                self._changed()

    def _spawned(self, state: ServerState, pid: int) -> None:
        state.pidfd = open_pidfd(pid)
        state.pid = pid
        if self._abandoned:  # close() has already killed the servers: this one, started late, would be orphaned
            kill_group(pid, state.pidfd)

    async def _transport(
        self, state: ServerState, stack: AsyncExitStack, errlog: TextIO
    ) -> AbstractAsyncContextManager[Any]:
        assert state.lost is not None
        launch = state.launch
        if launch.command is not None:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(command=launch.command, args=launch.args, env=launch.env, cwd=launch.cwd)
            return watched(stdio_client(params, errlog=errlog), state.lost)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        timeout = httpx2.Timeout(30.0, read=launch.config.tool_timeout + 30.0)
        http = await stack.enter_async_context(httpx2.AsyncClient(headers=launch.headers, timeout=timeout))
        assert launch.url is not None
        inner = streamable_http_client(launch.url, http_client=http, max_sse_event_size=MAX_MESSAGE_BYTES)
        return watched(inner, state.lost)

    async def _call_tool(
        self, state: ServerState, tool: str, arguments: dict[str, Any], timeout: float
    ) -> mcp_types.CallToolResult:
        import anyio

        assert state.client is not None
        try:
            with anyio.fail_after(timeout):
                return await state.client.call_tool(tool, arguments)
        except TimeoutError:
            why = f"{state.name} did not answer within {timeout:g} s (tool_timeout); the call was cancelled"
            raise ToolError(why) from None
        except Exception as exc:
            raise self._call_failed(state, exc) from None

    async def _get_prompt(
        self, state: ServerState, prompt: str, arguments: dict[str, str], timeout: float
    ) -> mcp_types.GetPromptResult:
        import anyio

        assert state.client is not None
        try:
            with anyio.fail_after(timeout):
                return await state.client.get_prompt(prompt, arguments)
        except TimeoutError:
            raise ToolError(f"{state.name} did not answer within {timeout:g} s (tool_timeout)") from None
        except Exception as exc:
            raise self._call_failed(state, exc) from None

    def _call_failed(self, state: ServerState, exc: Exception) -> ToolError:
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED

        if isinstance(exc, MCPError) and exc.code != CONNECTION_CLOSED:
            return ToolError(f"{state.name}: {exc.error.message}")
        if state.lost is not None:
            state.lost.set()  # _serve reports it once and takes the tools away
        return ToolError(f"the MCP server {state.name} stopped during the call ({_describe(exc)}); its tools are gone")

    def _fail(self, state: ServerState, reason: str) -> None:
        had_tools = state.status == "ready"
        state.status, state.error, state.client = "failed", reason, None
        state.started_s = time.monotonic() - self._started_at
        self._notice(f"warning: MCP server {state.name} {reason}; going on without its tools")
        if had_tools:
            state.tools, state.prompts = [], []
        self._changed()

    def _changed(self) -> None:
        with self._lock:
            self.version += 1
        if all(s.status != "starting" for s in self.servers.values()):
            self._settled.set()

    @contextlib.contextmanager
    def _errlog(self, name: str) -> Any:
        """Where a stdio server's stderr goes: its log file (shown in failure notices), else nowhere."""
        import os

        path = self._log_path(name)
        if path is None:
            with open(os.devnull, "w", encoding="utf-8") as sink:
                yield sink
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", errors="replace") as log:
            yield log

    def _log_path(self, name: str) -> Path | None:
        return None if self.log_dir is None else self.log_dir / f"{name}.log"


def _discard(work: Awaitable[Any]) -> None:
    """Close a coroutine that will never be awaited, so Python does not warn about it."""
    close = getattr(work, "close", None)
    if close is not None:
        close()


def _describe(exc: BaseException) -> str:
    """One line for an exception, looking inside the exception groups anyio's task groups raise."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}{f': {exc.filename}' if exc.filename else ''}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _last_line(path: Path | None) -> str:
    """The server's last words on stderr, as ``(stderr: ...)``, for the notice."""
    if path is None:
        return ""
    try:
        with open(path, "rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - 4096))
            lines = [ln for ln in log.read().decode("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return f" (stderr: {lines[-1].strip()[:200]})" if lines else ""
