"""Drive ``agent acp`` as an editor would: the ACP SDK's own client side, over a real subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from acp import PROTOCOL_VERSION, schema, spawn_agent_process
from acp.client.connection import ClientSideConnection


class Editor:
    """An ACP client that records what the agent shows and answers permission questions from a list."""

    def __init__(self, answers: list[str] | None = None) -> None:
        self.answers = list(answers or [])  # option ids, or "cancelled"
        self.updates: list[tuple[str, Any]] = []
        self.questions: list[schema.RequestPermissionRequest] = []
        self.changed = asyncio.Event()

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append((session_id, update))
        self.changed.set()

    async def request_permission(
        self, options: list[schema.PermissionOption], session_id: str, tool_call: schema.ToolCallUpdate, **kwargs: Any
    ) -> schema.RequestPermissionResponse:
        self.questions.append(
            schema.RequestPermissionRequest(options=options, session_id=session_id, tool_call=tool_call)
        )
        self.changed.set()
        answer = self.answers.pop(0) if self.answers else "cancelled"
        if answer == "wait":  # hold the question until the prompt is cancelled
            await asyncio.sleep(3600)
        if answer == "cancelled":
            return schema.RequestPermissionResponse(outcome=schema.DeniedOutcome(outcome="cancelled"))
        return schema.RequestPermissionResponse(outcome=schema.AllowedOutcome(outcome="selected", option_id=answer))

    def kinds(self) -> list[str]:
        return [update.session_update for _, update in self.updates]

    def text(self, kind: str = "agent_message_chunk") -> str:
        return "".join(u.content.text for _, u in self.updates if u.session_update == kind)

    def of(self, kind: str) -> list[Any]:
        return [u for _, u in self.updates if u.session_update == kind]

    async def until(self, condition: Any, timeout: float = 20) -> None:
        async def wait() -> None:
            while not condition():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(wait(), timeout)


@contextlib.asynccontextmanager
async def agent_acp(
    editor: Editor, cwd: Path, *args: str, stderr: Path | None = None
) -> AsyncIterator[tuple[ClientSideConnection, Any]]:
    """``agent acp ARGS`` in ``cwd``, initialized; yields the connection and the process."""
    log = open(stderr or cwd / "agent-acp.log", "ab")  # noqa: SIM115 - closed below, after the process
    try:
        async with spawn_agent_process(
            cast(Any, editor),  # a structural Client: the methods an editor answers in these tests
            sys.executable,
            "-m",
            "agentshell",
            "acp",
            *args,
            env={**os.environ, "NO_COLOR": "1"},
            cwd=cwd,
            transport_kwargs={"stderr": log.fileno(), "shutdown_timeout": 10.0},
            use_unstable_protocol=True,
        ) as (conn, process):
            await conn.initialize(protocol_version=PROTOCOL_VERSION)
            yield conn, process
    finally:
        log.close()


def shown(update: Any) -> str:
    """The text a tool call's content shows (diffs left out)."""
    return "".join(c.content.text for c in update.content or [] if c.type == "content")


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 120))
