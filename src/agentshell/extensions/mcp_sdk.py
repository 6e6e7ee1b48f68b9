"""What the official MCP SDK's client leaves to its caller, for extensions/mcp_client.py.

The pid of each stdio server (the SDK spawns it and keeps the process to itself), the moment a
server's side of the connection ends, and listings that page. Nothing here imports the SDK until
it is called.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import anyio
    import mcp_types
    from mcp import Client

LIST_PAGES = 50  # a server that pages forever cannot hang start-up

# Who hears about a stdio server's pid: set in each server's task, read when the SDK spawns (see record_spawns).
on_spawn: ContextVar[Callable[[int], None] | None] = ContextVar("agentshell_mcp_on_spawn", default=None)
_patching = threading.Lock()


def record_spawns() -> None:
    """Let each server task learn its stdio server's pid, which the SDK keeps to itself.

    ``stdio_client`` looks its spawn function up in its module at every call, so a wrapper there sees
    every spawn; ``on_spawn`` (set per server task) says whom to tell. Without that function (another
    SDK version) nothing is recorded and only the SDK stops the servers.
    """
    from mcp.client import stdio

    with _patching:
        spawn = getattr(stdio, "_create_platform_compatible_process", None)
        if spawn is None or getattr(spawn, "agentshell_records_pids", False):
            return

        async def recorded(*args: Any, **kwargs: Any) -> Any:
            process = await spawn(*args, **kwargs)
            tell = on_spawn.get()
            if tell is not None:
                tell(process.pid)
            return process

        recorded.agentshell_records_pids = True  # type: ignore[attr-defined]
        stdio._create_platform_compatible_process = recorded


@asynccontextmanager
async def watched(transport: AbstractAsyncContextManager[Any], lost: anyio.Event) -> AsyncIterator[tuple[Any, Any]]:
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


async def all_tools(client: Client) -> list[mcp_types.Tool]:
    return await _all_pages(client.list_tools, "tools")


async def all_prompts(client: Client) -> list[mcp_types.Prompt]:
    if client.server_capabilities.prompts is None:
        return []
    return await _all_pages(client.list_prompts, "prompts")


async def _all_pages(list_page: Callable[..., Awaitable[Any]], items: str) -> list[Any]:
    """Every item of a paged listing, following ``next_cursor`` for at most ``LIST_PAGES`` pages."""
    found: list[Any] = []
    cursor: str | None = None
    for _ in range(LIST_PAGES):
        page = await list_page(cursor=cursor)
        found.extend(getattr(page, items))
        cursor = page.next_cursor
        if cursor is None:
            break
    return found
