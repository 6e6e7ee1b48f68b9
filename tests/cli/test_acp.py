"""``agent acp`` end to end: the ACP SDK's client drives a real ``agent acp`` process on a scripted model."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from acp import RequestError, schema

from agentshell.session import SessionStore
from tests.cli.acp_support import Editor, agent_acp, run, shown
from tests.cli.launch_support import (
    MARKER,
    agent_command,
    call,
    process_gone,
    sleeping_pids,
    text,
    wait_for,
    write_script,
)


def ask(words: str) -> list[Any]:
    return [schema.TextContentBlock(type="text", text=words)]


def test_a_prompt_streams_thoughts_text_and_tool_calls_with_diffs(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one\ntwo\nthree\n")
    model = write_script(
        tmp_path,
        [
            [{"type": "thinking", "text": "I should edit."}, text("Editing "), text("now."),
             call("edit_file", path="a.txt", old_string="two", new_string="TWO")],
            [text("Done.")],
        ],
    )  # fmt: skip
    editor = Editor()

    async def main() -> tuple[schema.NewSessionResponse, schema.PromptResponse]:
        async with agent_acp(editor, tmp_path, "--model", model, "--permission-mode", "accept-edits") as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            return new, await conn.prompt(session_id=new.session_id, prompt=ask("capitalize two"))

    new, response = run(main())
    assert response.stop_reason == "end_turn"
    assert editor.kinds() == [
        "agent_thought_chunk", "agent_message_chunk", "agent_message_chunk", "tool_call", "tool_call_update",
        "agent_message_chunk",
    ]  # fmt: skip
    assert editor.text("agent_thought_chunk") == "I should edit." and editor.text() == "Editing now.Done."
    (start,) = editor.of("tool_call")
    assert (start.tool_call_id, start.title, start.kind, start.status) == ("c1", "edit a.txt", "edit", "pending")
    assert start.locations[0].path == str(tmp_path.resolve() / "a.txt")
    (done,) = editor.of("tool_call_update")
    (diff,) = done.content
    assert (done.status, diff.type, diff.path) == ("completed", "diff", str(tmp_path.resolve() / "a.txt"))
    assert (diff.old_text, diff.new_text) == ("one\ntwo\nthree\n", "one\nTWO\nthree\n")
    assert new.modes is not None and new.modes.current_mode_id == "accept-edits"
    assert [m.id for m in new.modes.available_modes] == ["ask", "accept-edits", "read-only", "yolo"]
    model_option = next(o for o in new.config_options or [] if o.id == "model")
    assert model_option.current_value == model and model_option.category == "model"
    _, messages, _ = SessionStore().read(new.session_id)  # an agentshell session: `agent launch --resume` it
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant"]


def test_a_permission_question_is_asked_and_answered_through_the_gate(tmp_path: Path) -> None:
    model = write_script(
        tmp_path,
        [
            [call("bash", "a", command="echo once")],
            [call("bash", "b", command="echo never")],
            [call("bash", "c", command="echo always")],
            [call("bash", "d", command="echo always")],
            [call("write_file", "e", path="new.txt", content="fresh\n")],
            [text("finished")],
        ],
    )
    editor = Editor(["allow_once", "reject_once", "allow_always", "allow_once"])

    async def main() -> schema.PromptResponse:
        async with agent_acp(editor, tmp_path, "--model", model) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            return await conn.prompt(session_id=new.session_id, prompt=ask("run things"))

    assert run(main()).stop_reason == "end_turn"
    asked = [q.tool_call for q in editor.questions]
    assert [q.tool_call_id for q in asked] == ["a", "b", "c", "e"]  # "d" was covered by "always"
    assert [o.kind for o in editor.questions[0].options] == ["allow_once", "allow_always", "reject_once"]
    assert asked[0].title == "$ echo once" and asked[0].kind == "execute"
    assert "echo once" in shown(asked[0])
    (diff, why) = asked[3].content or []
    assert (diff.type, diff.old_text, diff.new_text) == ("diff", None, "fresh\n")  # what the edit would do
    assert why.content.text == "Asking because edits need approval."
    results = {u.tool_call_id: u for u in editor.of("tool_call_update")}
    assert results["a"].status == "completed" and "once" in results["a"].content[0].content.text
    assert results["b"].status == "failed" and "denied by the user" in results["b"].content[0].content.text
    assert results["d"].status == "completed" and results["e"].status == "completed"
    assert (tmp_path / "new.txt").read_text() == "fresh\n"


def test_cancel_stops_a_long_stream_and_the_session_goes_on(tmp_path: Path) -> None:
    tokens = [step for i in range(400) for step in (text(f"t{i} "), {"type": "sleep", "seconds": 0.02})]
    model = write_script(tmp_path, [tokens, [text("after")]])
    editor = Editor()

    async def main() -> tuple[schema.PromptResponse, schema.PromptResponse]:
        async with agent_acp(editor, tmp_path, "--model", model) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            talking = asyncio.create_task(conn.prompt(session_id=new.session_id, prompt=ask("talk")))
            await editor.until(lambda: len(editor.of("agent_message_chunk")) >= 5)
            await conn.cancel(session_id=new.session_id)
            return await talking, await conn.prompt(session_id=new.session_id, prompt=ask("again"))

    cancelled, again = run(main())
    assert cancelled.stop_reason == "cancelled"
    assert again.stop_reason == "end_turn" and editor.text().endswith("after")
    first = editor.text().removesuffix("after")
    assert first.startswith("t0 t1 t2 t3 t4 ") and "t399 " not in first  # the cancel ended the stream, not the model


def test_cancel_while_a_question_waits_and_while_a_command_runs(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("bash", command="echo hi")], [call("bash", command=f"sleep {MARKER}")]])
    editor = Editor(["wait"])

    async def main() -> tuple[str, str]:
        async with agent_acp(editor, tmp_path, "--model", model, "--allow", "bash(sleep *)") as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            waiting = asyncio.create_task(conn.prompt(session_id=new.session_id, prompt=ask("one")))
            await editor.until(lambda: editor.questions)
            await conn.cancel(session_id=new.session_id)
            first = (await waiting).stop_reason
            sleeping = asyncio.create_task(conn.prompt(session_id=new.session_id, prompt=ask("two")))
            assert await asyncio.to_thread(wait_for, sleeping_pids, 20)
            (pid,) = sleeping_pids()
            await conn.cancel(session_id=new.session_id)
            second = (await sleeping).stop_reason
            assert await asyncio.to_thread(wait_for, lambda: process_gone(pid), 10)
            return first, second

    assert run(main()) == ("cancelled", "cancelled")


@pytest.mark.slow  # waits for a process to exit
def test_the_editor_going_away_ends_the_agent_and_keeps_the_session(tmp_path: Path) -> None:
    tokens = [step for i in range(1000) for step in (text(f"t{i} "), {"type": "sleep", "seconds": 0.02})]
    model = write_script(tmp_path, [tokens])
    editor = Editor()

    async def main() -> tuple[str, int | None]:
        async with agent_acp(editor, tmp_path, "--model", model) as (conn, process):
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            talking = asyncio.create_task(conn.prompt(session_id=new.session_id, prompt=ask("talk for long")))
            await editor.until(lambda: len(editor.of("agent_message_chunk")) >= 3)
            process.stdin.close()
            code = await asyncio.wait_for(process.wait(), 15)
            talking.cancel()
            return new.session_id, code

    session_id, code = run(main())
    assert code == 0
    _, messages, _ = SessionStore().read(session_id)
    assert messages[0].content == "talk for long"
    assert messages[1].interrupted and messages[1].content.startswith("t0 t1 t2")
    assert not SessionStore().is_busy(session_id)


@pytest.mark.slow  # waits for a process to exit
def test_sigterm_stops_the_running_command_and_keeps_the_session(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("bash", command=f"sleep {MARKER}")]])

    async def main() -> tuple[str, int | None, int]:
        async with agent_acp(Editor(), tmp_path, "--model", model, "--allow", "bash(sleep *)") as (conn, process):
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            sleeping = asyncio.create_task(conn.prompt(session_id=new.session_id, prompt=ask("sleep")))
            assert await asyncio.to_thread(wait_for, sleeping_pids, 20)
            (pid,) = sleeping_pids()
            process.terminate()
            code = await asyncio.wait_for(process.wait(), 15)
            sleeping.cancel()
            return new.session_id, code, pid

    session_id, code, pid = run(main())
    assert code == 0 and wait_for(lambda: process_gone(pid), 10)
    assert not SessionStore().is_busy(session_id)
    _, messages, _ = SessionStore().read(session_id)
    assert messages[0].content == "sleep" and messages[-1].role == "tool"


def test_help_loads_neither_the_sdk_nor_a_backend() -> None:
    from tests.cli.test_startup_imports import PROBE

    proc = subprocess.run([sys.executable, "-c", PROBE, "acp", "--help"], capture_output=True, text=True, timeout=60)
    loaded = set(json.loads(proc.stdout)["modules"])
    assert not loaded & {"acp", "httpx", "agentshell.api", "agentshell.loop.agent", "agentshell_ollama"}


def test_sessions_are_loaded_and_resumed_across_processes(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("first answer")], [text("second answer")]])

    async def first() -> str:
        async with agent_acp(Editor(), tmp_path, "--model", model) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            await conn.prompt(session_id=new.session_id, prompt=ask("first question"))
            return new.session_id

    session_id = run(first())
    loaded = Editor()

    async def load() -> None:
        async with agent_acp(loaded, tmp_path, "--model", model) as (conn, _):
            await conn.load_session(cwd=str(tmp_path), session_id=session_id, mcp_servers=[])
            assert loaded.kinds() == ["user_message_chunk", "agent_message_chunk"]
            assert loaded.text("user_message_chunk") == "first question" and loaded.text() == "first answer"
            await conn.prompt(session_id=session_id, prompt=ask("next"))

    run(load())
    resumed = Editor()

    async def resume() -> None:
        async with agent_acp(resumed, tmp_path, "--model", model) as (conn, _):
            await conn.resume_session(cwd=str(tmp_path), session_id=session_id, mcp_servers=[])
            assert resumed.updates == []
            listed = await conn.list_sessions(cwd=str(tmp_path))
            assert [s.session_id for s in listed.sessions] == [session_id]
            other = tmp_path / "elsewhere"
            other.mkdir()
            with pytest.raises(RequestError, match="belongs to"):
                await conn.load_session(cwd=str(other), session_id=session_id)

    run(resume())
    _, messages, _ = SessionStore().read(session_id)
    assert [m.content for m in messages if m.role == "user"] == ["first question", "next"]


def test_modes_and_models_are_switched_by_the_editor(tmp_path: Path) -> None:
    first = write_script(tmp_path, [[call("write_file", path="x.txt", content="x\n")], [text("one")]], name="1.json")
    second = write_script(tmp_path, [[text("from the second model")]], name="2.json")
    editor = Editor()

    async def main() -> None:
        async with agent_acp(editor, tmp_path, "--model", first, "--permission-mode", "yolo") as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            await conn.set_session_mode(session_id=new.session_id, mode_id="read-only")
            await conn.prompt(session_id=new.session_id, prompt=ask("write"))
            (update,) = editor.of("tool_call_update")
            assert update.status == "failed" and "read-only" in shown(update)
            changed = await conn.set_config_option(config_id="model", session_id=new.session_id, value=second)
            assert next(o for o in changed.config_options if o.id == "model").current_value == second
            await conn.prompt(session_id=new.session_id, prompt=ask("who are you?"))
            assert editor.text().endswith("from the second model")
            await conn.set_config_option(config_id="mode", session_id=new.session_id, value="ask")
            await editor.until(lambda: editor.of("current_mode_update"))
            with pytest.raises(RequestError, match="no mode"):
                await conn.set_session_mode(session_id=new.session_id, mode_id="careless")
            with pytest.raises(RequestError, match="no script file"):
                await conn.set_config_option(config_id="model", session_id=new.session_id, value="scripted:/nope")

    run(main())
    assert not (tmp_path / "x.txt").exists()


def test_what_cannot_be_done_is_a_json_rpc_error(tmp_path: Path) -> None:
    model = write_script(tmp_path, [])

    async def main() -> None:
        async with agent_acp(Editor(), tmp_path, "--model", model) as (conn, _):
            with pytest.raises(RequestError, match="not an absolute path"):
                await conn.new_session(cwd="relative/dir", mcp_servers=[])
            sse = schema.SseMcpServer(type="sse", name="old", url="http://127.0.0.1:9/sse", headers=[])
            with pytest.raises(RequestError, match="sse MCP servers are not supported"):
                await conn.new_session(cwd=str(tmp_path), mcp_servers=[sse])
            with pytest.raises(RequestError, match="no open session"):
                await conn.prompt(session_id="nonexistent", prompt=ask("hi"))
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[])
            with pytest.raises(RequestError, match="no responses left"):  # a backend failure: its one line
                await conn.prompt(session_id=new.session_id, prompt=ask("hi"))
        async with agent_acp(Editor(), tmp_path, "--model", f"scripted:{tmp_path / 'missing.json'}") as (conn, _):
            with pytest.raises(RequestError, match="no script file"):
                await conn.new_session(cwd=str(tmp_path), mcp_servers=[])

    run(main())


def test_a_malformed_message_gets_a_json_rpc_error_and_the_agent_goes_on(tmp_path: Path) -> None:
    lines = [
        "this is not json",
        "[1, 2]",
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "no/such/method"}),
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "session/prompt", "params": {"sessionId": 5}}),
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "initialize", "params": {"protocolVersion": 1}}),
    ]
    proc = subprocess.run(
        agent_command("acp", "--model", "builtin"),
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    by_id = {a["id"]: a for a in answers if a["id"] is not None}
    assert [a["error"]["code"] for a in answers if a["id"] is None] == [-32700, -32600]
    assert by_id[1]["error"]["code"] == -32601 and by_id[2]["error"]["code"] == -32602
    assert by_id[3]["result"]["agentInfo"]["name"] == "agentshell"
    assert "Traceback" not in proc.stderr


def test_bad_options_fail_before_serving(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "agentshell", "acp", "--allow", "bash("],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("agent: error: invalid permission rule")


@pytest.mark.slow  # starts an MCP server
def test_the_editors_mcp_servers_are_used_in_the_session(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("mcp__clock__get_current_time", timezone="UTC")], [text("It is late.")]])
    editor = Editor()
    clock = schema.McpServerStdio(name="clock", command=sys.executable, args=["-m", "mcp_server_time"], env=[])

    async def main() -> None:
        async with agent_acp(editor, tmp_path, "--model", model, "--permission-mode", "yolo") as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path), mcp_servers=[clock])
            await conn.prompt(session_id=new.session_id, prompt=ask("what time is it?"))

    run(main())
    (start,) = editor.of("tool_call")
    (done,) = editor.of("tool_call_update")
    assert start.title.startswith("mcp__clock__get_current_time") and start.kind == "other"
    assert done.status == "completed" and "UTC" in shown(done)
