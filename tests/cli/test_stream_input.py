"""``agent launch --input-format stream-json``: one process, one session, each input line answered in turn."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from agentshell.api.events import event_adapter
from agentshell.session import SessionStore
from tests.cli.launch_support import agent_command, call, run_agent, sigint_default, text, write_script

STREAM = ("launch", "--input-format", "stream-json", "--output-format", "stream-json")


def user(content: Any) -> str:
    return json.dumps({"type": "user", "message": {"role": "user", "content": content}})


def events(stdout: str) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in stdout.splitlines()]
    for event in parsed:
        event_adapter().validate_python(event)  # every line follows the output schema
    return parsed


def test_each_message_is_answered_in_turn_in_one_session(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("one")], [call("list_dir", path=".")], [text("two")], [text("three")]])
    lines = [
        user("first"),
        json.dumps({"type": "user", "message": {"content": [{"type": "text", "text": "second"}]}, "session_id": "x"}),
        user("third"),
    ]
    proc = run_agent(*STREAM, "-m", model, cwd=tmp_path, stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = events(proc.stdout)
    assert [e["type"] for e in out] == [
        "init", "text", "result", "tool_call", "tool_result", "text", "result", "text", "result"
    ]  # fmt: skip
    results = [e for e in out if e["type"] == "result"]
    assert [r["result"] for r in results] == ["one", "two", "three"]
    assert {r["session_id"] for r in results} == {out[0]["session_id"]}
    _, messages, _ = SessionStore().read(out[0]["session_id"])
    assert [m.content for m in messages if m.role == "user"] == ["first", "second", "third"]


def test_a_bad_line_gets_an_error_event_and_the_conversation_goes_on(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("one")], [text("two")]])
    stdin = "\n".join([user("a"), "not json", '{"type": "user"}', '{"schema_version": 9, "type": "user"}', user("b")])
    proc = run_agent(*STREAM, "-m", model, cwd=tmp_path, stdin=stdin + "\n")
    assert proc.returncode == 2  # the first failure's code: a usage error
    out = events(proc.stdout)
    assert [e["type"] for e in out] == ["init", "text", "result", "error", "error", "error", "text", "result"]
    errors = [e for e in out if e["type"] == "error"]
    assert [e["kind"] for e in errors] == ["InvalidInput"] * 3
    assert errors[0]["message"].startswith("input line 2 is not JSON")
    assert errors[1]["message"].startswith("input line 3: message: Field required")
    assert "schema_version 9 is not supported" in errors[2]["message"]
    assert [e["result"] for e in out if e["type"] == "result"] == ["one", "two"]


def test_the_prompt_flag_is_the_first_message_and_a_failed_turn_does_not_end_the_conversation(tmp_path: Path) -> None:
    model = write_script(
        tmp_path, [[{"type": "raise", "error": "BackendError", "message": "boom"}], [text("recovered")]]
    )
    proc = run_agent(*STREAM, "-m", model, "-p", "from the flag", cwd=tmp_path, stdin=user("from stdin") + "\n")
    assert proc.returncode == 1
    out = events(proc.stdout)
    assert [e["type"] for e in out] == ["init", "error", "result", "text", "result"]
    assert out[2]["is_error"] and "boom" in out[2]["error"] and out[4]["result"] == "recovered"


def test_stream_json_input_needs_stream_json_output(tmp_path: Path) -> None:
    proc = run_agent("launch", "--input-format", "stream-json", "-m", "builtin", cwd=tmp_path, stdin="")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "agent: error: --input-format stream-json needs --output-format stream-json\n"


def test_a_conversation_that_cannot_start_still_ends_in_a_result(tmp_path: Path) -> None:
    proc = run_agent(*STREAM, "-m", f"scripted:{tmp_path / 'missing.json'}", cwd=tmp_path, stdin=user("hi") + "\n")
    assert proc.returncode == 1
    assert [e["type"] for e in events(proc.stdout)] == ["error", "result"]


def test_an_interrupt_line_stops_the_message_being_answered(tmp_path: Path) -> None:
    tokens = [step for i in range(300) for step in (text(f"t{i} "), {"type": "sleep", "seconds": 0.02})]
    model = write_script(tmp_path, [tokens, [text("next one")]])
    proc = subprocess.Popen(
        agent_command(*STREAM, "-m", model),
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(user("talk") + "\n")
    proc.stdin.flush()
    seen = [json.loads(proc.stdout.readline()) for _ in range(3)]  # init and two text events: it is talking
    assert [e["type"] for e in seen] == ["init", "text", "text"]
    rest, err = proc.communicate('{"type": "interrupt"}\n' + user("and now?") + "\n", timeout=60)
    assert proc.returncode == 0, err
    results = [e for e in events(rest) if e["type"] == "result"]
    assert [r["stop_reason"] for r in results] == ["interrupted", "stop"]
    assert results[1]["result"] == "next one"
