"""Listings follow next_cursor and stop at LIST_PAGES, so a server that pages forever cannot hang start-up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from agentshell.extensions.mcp_sdk import LIST_PAGES, all_prompts, all_tools


@dataclass
class Page:
    tools: list[str]
    prompts: list[str]
    next_cursor: str | None


class Capabilities:
    prompts: object = object()


class PagingClient:
    """Pages of two items; ``pages`` None pages forever."""

    server_capabilities = Capabilities()

    def __init__(self, pages: int | None) -> None:
        self.pages = pages
        self.cursors: list[str | None] = []

    async def _page(self, cursor: str | None) -> Page:
        self.cursors.append(cursor)
        n = len(self.cursors)
        items = [f"item{2 * n - 1}", f"item{2 * n}"]
        last = self.pages is not None and n >= self.pages
        return Page(tools=items, prompts=items, next_cursor=None if last else f"c{n}")

    async def list_tools(self, cursor: str | None = None) -> Page:
        return await self._page(cursor)

    async def list_prompts(self, cursor: str | None = None) -> Page:
        return await self._page(cursor)


def test_every_page_is_read_in_order() -> None:
    client: Any = PagingClient(pages=3)
    tools: list[Any] = asyncio.run(all_tools(client))
    assert tools == [f"item{i}" for i in range(1, 7)]
    assert client.cursors == [None, "c1", "c2"]


def test_endless_paging_stops_at_the_limit() -> None:
    client: Any = PagingClient(pages=None)
    assert len(asyncio.run(all_prompts(client))) == 2 * LIST_PAGES


def test_a_server_without_prompts_is_not_asked() -> None:
    client: Any = PagingClient(pages=1)
    client.server_capabilities = type("NoPrompts", (), {"prompts": None})()
    assert asyncio.run(all_prompts(client)) == [] and client.cursors == []
