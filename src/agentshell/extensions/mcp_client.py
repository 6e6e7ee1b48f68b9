"""MCP servers, started in the background and spoken to through the official SDK (PyPI ``mcp``).

One daemon thread runs an event loop; each server is a task in it that connects (stdio or
streamable HTTP), lists its tools and prompts within ``startup_timeout``, then waits until the
agent stops or the connection is lost. The agent's thread calls in through an anyio
``BlockingPortal``. Nothing here prints: what the user should hear (a server that failed or died)
is queued and handed out by :meth:`McpHub.take_notices` on the agent's thread, so a notice never
lands in the middle of the prompt being typed.

Children never outlive the agent: stdio servers run in their own session, and on
:meth:`McpHub.close` (exit, Ctrl-C, an error) the SDK closes their stdin, waits, then kills their
process group; if the agent itself is killed, their stdin reaches EOF and they exit on their own.
See docs/extensions.md#mcp-servers.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from agentshell.extensions.mcp_config import ServerLaunch
from agentshell.tools.base import ToolError

if TYPE_CHECKING:
    import anyio
    import mcp_types
    from anyio.from_thread import BlockingPortal
    from mcp import Client

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one SSE event (a tool result over HTTP); bigger is an error, not a hang
SHUTDOWN_SECONDS = 6.0  # the SDK's own bounds: 2 s for a server to exit after EOF, 2 s after SIGTERM, 2 s to reap
_LIST_PAGES = 50  # a server that pages forever cannot hang start-up

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


class McpHub:
    """The running MCP servers of one agent."""

    def __init__(self, servers: Mapping[str, ServerLaunch], *, log_dir: Path | None = None) -> None:
        self.servers = {name: ServerState(name, launch) for name, launch in servers.items()}
        self.log_dir = log_dir
        self.version = 0  # bumped whenever a server's tools appear or disappear
        self._portal: BlockingPortal | None = None
        self._thread: threading.Thread | None = None
        self._loop_up = threading.Event()
        self._settled = threading.Event()
        self._stop: anyio.Event | None = None
        self._notices: list[str] = []
        self._lock = threading.Lock()
        self._started_at = 0.0
        self._closed = False

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
        return self._run(self._call_tool, state, tool, arguments, timeout)  # type: ignore[no-any-return]

    def get_prompt(self, server: str, prompt: str, arguments: dict[str, str]) -> mcp_types.GetPromptResult:
        state = self._usable(server)
        timeout = state.launch.config.tool_timeout
        return self._run(self._get_prompt, state, prompt, arguments, timeout)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop every server and wait for them (bounded); safe to call twice, and from atexit."""
        if self._closed:
            return
        self._closed = True
        thread, portal, stop = self._thread, self._portal, self._stop
        if thread is None:
            return
        if portal is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                portal.call(stop.set)
        thread.join(SHUTDOWN_SECONDS + 2)

    # ------------------------------------------------------------------ helpers for the agent's thread

    def _usable(self, server: str) -> ServerState:
        state = self.servers.get(server)
        if state is None or state.status != "ready" or state.client is None or self._portal is None:
            why = f": {state.error}" if state is not None and state.error else ""
            raise ToolError(f"MCP server {server} is not running{why}")
        return state

    def _run(self, func: Callable[..., Any], *args: Any) -> Any:
        assert self._portal is not None
        try:
            future = self._portal.start_task_soon(func, *args)
        except RuntimeError as exc:  # the event loop is shutting down
            raise ToolError("the MCP servers are shutting down") from exc
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()  # the request is cancelled in the loop; the server gets notifications/cancelled
            raise

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
            self._loop_up.set()
            self._settled.set()

    async def _main(self) -> None:
        import anyio
        from anyio.from_thread import BlockingPortal

        self._stop = anyio.Event()
        async with BlockingPortal() as portal:
            self._portal = portal
            async with anyio.create_task_group() as tg:
                for state in self.servers.values():
                    state.lost = anyio.Event()
                    tg.start_soon(self._serve, state)
                self._loop_up.set()
                await self._stop.wait()
                for state in self.servers.values():
                    if state.lost is not None:
                        state.lost.set()
                tg.cancel_scope.deadline = anyio.current_time() + SHUTDOWN_SECONDS
            self._portal = None

    async def _serve(self, state: ServerState) -> None:
        import anyio
        from mcp import Client
        from mcp_types import Implementation

        from agentshell import __version__

        config = state.launch.config
        assert state.lost is not None and self._stop is not None
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
                    state.tools = await _all_tools(client)
                    state.prompts = await _all_prompts(client)
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
            if state.status == "ready":
                state.status = "stopped"
                self._changed()

    async def _transport(
        self, state: ServerState, stack: AsyncExitStack, errlog: TextIO
    ) -> AbstractAsyncContextManager[Any]:
        assert state.lost is not None
        launch = state.launch
        if launch.command is not None:
            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(command=launch.command, args=launch.args, env=launch.env, cwd=launch.cwd)
            return _watched(stdio_client(params, errlog=errlog), state.lost)
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        timeout = httpx2.Timeout(30.0, read=launch.config.tool_timeout + 30.0)
        http = await stack.enter_async_context(httpx2.AsyncClient(headers=launch.headers, timeout=timeout))
        assert launch.url is not None
        inner = streamable_http_client(launch.url, http_client=http, max_sse_event_size=MAX_MESSAGE_BYTES)
        return _watched(inner, state.lost)

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


@asynccontextmanager
async def _watched(transport: AbstractAsyncContextManager[Any], lost: anyio.Event) -> AsyncIterator[tuple[Any, Any]]:
    """The transport's streams, with ``lost`` set when the server's side ends (a crash, a closed connection)."""
    import anyio

    async with transport as (read, write):
        send, receive = anyio.create_memory_object_stream[Any](0)

        async def pump() -> None:
            try:
                async with send:
                    async for item in read:
                        await send.send(item)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass
            finally:
                lost.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(pump)
            try:
                yield receive, write
            finally:
                tg.cancel_scope.cancel()


async def _all_tools(client: Client) -> list[mcp_types.Tool]:
    tools: list[mcp_types.Tool] = []
    cursor: str | None = None
    for _ in range(_LIST_PAGES):
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    return tools


async def _all_prompts(client: Client) -> list[mcp_types.Prompt]:
    if client.server_capabilities.prompts is None:
        return []
    prompts: list[mcp_types.Prompt] = []
    cursor: str | None = None
    for _ in range(_LIST_PAGES):
        page = await client.list_prompts(cursor=cursor)
        prompts.extend(page.prompts)
        cursor = page.next_cursor
        if cursor is None:
            break
    return prompts


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
