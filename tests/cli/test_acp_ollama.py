"""``agent acp`` on a real backend: the Ollama backend streaming from the fake Ollama of the backend's tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from acp import schema

from tests.backends.ollama.fake_server import Reply, fake_ollama
from tests.cli.acp_support import Editor, agent_acp, run, shown

SHOW = {"model_info": {"general.architecture": "qwen3", "qwen3.context_length": 8192}, "capabilities": ["tools"]}


def chunk(content: str = "", **extra: Any) -> dict[str, Any]:
    return {"model": "qwen3", "message": {"role": "assistant", "content": content, **extra}, "done": False}


def final() -> dict[str, Any]:
    message = {"role": "assistant", "content": ""}
    return {"model": "qwen3", "message": message, "done": True, "done_reason": "stop", "eval_count": 3}


def test_ollama_streams_text_and_a_native_tool_call_to_the_editor(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("the notes\n")
    read = {"id": "call_1", "function": {"index": 0, "name": "read_file", "arguments": {"path": "notes.txt"}}}
    editor = Editor()
    with fake_ollama() as server:
        server.script("POST", "/api/show", Reply(body=SHOW))
        server.script(
            "POST",
            "/api/chat",
            Reply(lines=[chunk("Let me "), chunk("read."), chunk(tool_calls=[read]), final()]),
            Reply(lines=[chunk("They say: "), chunk("the notes."), final()]),
        )

        async def main() -> schema.PromptResponse:
            async with agent_acp(editor, tmp_path, "--model", "ollama:qwen3", "--host", server.url) as (conn, _):
                new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
                prompt: list[Any] = [schema.TextContentBlock(type="text", text="what do the notes say?")]
                return await conn.prompt(session_id=new.session_id, prompt=prompt)

        response = run(main())
        requests = server.bodies("/api/chat")
    assert response.stop_reason == "end_turn"
    assert editor.kinds() == [
        "agent_message_chunk", "agent_message_chunk", "tool_call", "tool_call_update",
        "agent_message_chunk", "agent_message_chunk",
    ]  # fmt: skip
    assert editor.text() == "Let me read.They say: the notes."
    (done,) = editor.of("tool_call_update")
    assert done.status == "completed" and "the notes" in shown(done)
    assert requests[0]["messages"][-1] == {"role": "user", "content": "what do the notes say?"}


def test_cancel_reaches_a_model_that_has_not_answered_yet(tmp_path: Path) -> None:
    """Ctrl-C semantics: a backend blocked before its first token is stopped too, not only between tokens."""
    editor = Editor()
    with fake_ollama() as server:
        server.script("POST", "/api/show", Reply(body=SHOW))
        server.script("POST", "/api/chat", Reply(lines=[chunk("late"), final()], first_byte_delay=30))

        async def main() -> str:
            async with agent_acp(editor, tmp_path, "--model", "ollama:qwen3", "--host", server.url) as (conn, _):
                new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
                prompt: list[Any] = [schema.TextContentBlock(type="text", text="hello?")]
                waiting = asyncio.create_task(conn.prompt(session_id=new.session_id, prompt=prompt))
                while not server.bodies("/api/chat"):
                    await asyncio.sleep(0.05)
                await conn.cancel(session_id=new.session_id)
                return (await asyncio.wait_for(waiting, 5)).stop_reason

        assert run(main()) == "cancelled"
