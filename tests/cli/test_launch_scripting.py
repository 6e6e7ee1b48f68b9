"""``agent launch`` as scripts use it: real processes, every input form, output format and exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentshell.api import ResultEvent
from agentshell.api.events import event_adapter
from agentshell.session import SessionStore
from tests.cli.launch_support import call, run_agent, text, write_script

ANSWER = [
    [text("The answer is "), text("**42**."), {"type": "done", "usage": {"prompt_tokens": 30, "completion_tokens": 4}}]
]


def only_session(workspace: Path) -> list[str]:
    """Contents of the messages of the one session saved for ``workspace``."""
    store = SessionStore()
    (summary,) = store.list(workspace.resolve())
    _, messages, _ = store.read(summary.id)
    return [m.content for m in messages]


def test_prompt_argument_prints_only_the_answer(tmp_path: Path) -> None:
    model = write_script(tmp_path, ANSWER)
    proc = run_agent("launch", "-m", model, "-p", "question", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "The answer is **42**.\n", "")
    assert only_session(tmp_path) == ["question", "The answer is **42**."]


def test_prompt_on_stdin(tmp_path: Path) -> None:
    model = write_script(tmp_path, ANSWER)
    proc = run_agent("launch", "--model", model, cwd=tmp_path, stdin="what is six times seven?\n")
    assert proc.returncode == 0 and proc.stdout == "The answer is **42**.\n"
    assert only_session(tmp_path)[0] == "what is six times seven?"


def test_stdin_is_context_before_the_prompt(tmp_path: Path) -> None:
    model = write_script(tmp_path, ANSWER)
    proc = run_agent("launch", "-m", model, "-p", "why does this fail?", cwd=tmp_path, stdin="error: boom\nline 2\n")
    assert proc.returncode == 0
    assert only_session(tmp_path)[0] == "error: boom\nline 2\n\nwhy does this fail?"


def test_json_output_is_one_object(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("list_dir", path=".")], *ANSWER])
    proc = run_agent("launch", "-m", model, "-p", "look", "--output-format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = ResultEvent.model_validate_json(proc.stdout)
    assert result.result == "The answer is **42**." and not result.is_error
    assert result.backend == "scripted" and result.turns == 2 and result.stop_reason == "stop"
    assert [c.name for c in result.tool_calls] == ["list_dir"]
    assert result.usage.prompt_tokens == 30 and result.duration_ms >= 0
    assert result.session_id is not None and SessionStore().load(result.session_id).messages


def test_stream_json_events_follow_the_schema_in_order(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    script = [
        [{"type": "thinking", "text": "read it"}, text("Reading."), call("read_file", path="notes.txt")],
        *ANSWER,
    ]
    model = write_script(tmp_path, script)
    proc = run_agent("launch", "-m", model, "-p", "read", "--output-format", "stream-json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = [event_adapter().validate_json(line) for line in proc.stdout.splitlines()]
    assert [e.type for e in events] == [
        "init",
        "thinking",
        "text",
        "tool_call",
        "tool_result",
        "text",
        "text",
        "result",
    ]
    assert all(e.schema_version == 1 for e in events)
    init, result = events[0], events[-1]
    assert init.type == "init" and "bash" in init.tools and init.cwd == str(tmp_path)
    tool_result = events[4]
    assert tool_result.type == "tool_result" and "hello" in tool_result.output and not tool_result.is_error
    assert result.type == "result" and result.session_id == init.session_id


def test_json_schema_is_exported() -> None:
    from agentshell.api import agent_output_schema

    schema = agent_output_schema()
    kinds = {variant["$ref"].rsplit("/", 1)[-1] for variant in schema["oneOf"]}
    assert kinds == {
        "InitEvent",
        "TextEvent",
        "ThinkingEvent",
        "ToolCallEvent",
        "ToolResultEvent",
        "ResultEvent",
        "ErrorEvent",
        "CheckpointEvent",
        "HookEvent",
    }


def test_non_interactive_run_denies_what_would_ask_and_tells_the_model(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("bash", command="touch made-by-agent")], *ANSWER])
    proc = run_agent("launch", "-m", model, "-p", "go", "--output-format", "stream-json", cwd=tmp_path)
    assert proc.returncode == 0
    (tool_result,) = [json.loads(line) for line in proc.stdout.splitlines() if '"tool_result"' in line]
    assert tool_result["is_error"] and "not interactive" in tool_result["output"]
    assert not (tmp_path / "made-by-agent").exists()


def test_a_denied_write_is_listed_in_the_json_result_and_on_stderr(tmp_path: Path) -> None:
    """A script must see what did not run, even though the run itself succeeded (exit 0)."""
    model = write_script(
        tmp_path,
        [[call("write_file", "w1", path="notes.txt", content="hi\n"), call("read_file", "r1", path="x")], *ANSWER],
    )
    proc = run_agent("launch", "-m", model, "-p", "go", "--output-format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = ResultEvent.model_validate_json(proc.stdout)
    assert not result.is_error and not (tmp_path / "notes.txt").exists()
    (denial,) = result.permission_denials
    assert (denial.id, denial.name, denial.arguments) == ("w1", "write_file", {"path": "notes.txt", "content": "hi\n"})
    assert "needs approval" in denial.message and "--allow" in denial.message
    # Tool activity goes to stderr whether or not it is a terminal (here it is a pipe), one line per call.
    assert "agent: write notes.txt · denied\n" in proc.stderr
    assert "agent: read x · " in proc.stderr


def test_a_call_a_pretooluse_hook_blocked_is_a_permission_denial_too(tmp_path: Path, isolated_user_dirs: Path) -> None:
    """A hook's refusal is a denial like the gate's: a script checking ``permission_denials`` sees both."""
    config = isolated_user_dirs / "config" / "agentshell" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[[hooks.PreToolUse]]\nmatcher = "bash"\ncommand = "echo no shell today >&2; exit 2"\n')
    model = write_script(
        tmp_path,
        [[call("bash", "b1", command="echo hi"), call("write_file", "w1", path="a.txt", content="x")], *ANSWER],
    )
    proc = run_agent("launch", "-m", model, "-p", "go", "--output-format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = ResultEvent.model_validate_json(proc.stdout)
    assert [(d.id, d.name) for d in result.permission_denials] == [("b1", "bash"), ("w1", "write_file")]
    hook, gate = result.permission_denials
    assert (
        hook.arguments == {"command": "echo hi"}
        and hook.message == "error: blocked by a PreToolUse hook: no shell today"
    )
    assert "needs approval" in gate.message
    assert [c.id for c in result.tool_calls] == ["b1", "w1"]  # both were asked for; neither ran


def test_text_output_keeps_stdout_to_the_answer_and_tools_on_stderr(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("bash", command="echo hi")], *ANSWER])
    proc = run_agent("launch", "-m", model, "-p", "go", "--allow", "bash(echo *)", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == "The answer is **42**.\n"
    assert proc.stderr == "agent: $ echo hi · exit 0, 1 line\n"


def test_allow_rule_lets_a_command_run_and_yolo_warns(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("bash", command="touch made-by-agent")], *ANSWER])
    proc = run_agent("launch", "-m", model, "-p", "go", "--allow", "bash(touch *)", cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "made-by-agent").exists()
    model = write_script(tmp_path, ANSWER, "again.json")
    proc = run_agent("launch", "-m", model, "-p", "go", "--permission-mode", "yolo", cwd=tmp_path)
    assert proc.returncode == 0 and "yolo" in proc.stderr and "yolo" not in proc.stdout


def test_backend_failure_exits_1_with_one_line(tmp_path: Path) -> None:
    model = write_script(
        tmp_path,
        [[{"type": "raise", "error": "BackendUnavailable", "message": "cannot reach the server", "hint": "start it"}]],
    )
    proc = run_agent("launch", "-m", model, "-p", "hi", cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == "agent: error: cannot reach the server (start it)\n"


def test_failure_in_json_formats_is_reported_on_stdout_too(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[{"type": "raise", "error": "ModelNotFound", "message": "no such model"}]])
    proc = run_agent("launch", "-m", model, "-p", "hi", "--output-format", "stream-json", cwd=tmp_path)
    kinds = [json.loads(line)["type"] for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and kinds == ["init", "error", "result"]
    proc = run_agent("launch", "-m", model, "-p", "hi", "--output-format", "json", cwd=tmp_path)
    result = json.loads(proc.stdout)
    assert result["is_error"] and result["exit_code"] == 1 and "no such model" in result["error"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        ((), "", "nothing to do"),
        (("-p", "x", "--allow", "bash(unclosed"), None, "bash(unclosed"),
        (("-p", "x", "--resume", "does-not-exist"), None, "does-not-exist"),
        (("-p", "x", "--continue"), None, "no earlier session"),
        (("-p", "x", "--backend", "no-such-backend"), None, "no backend named 'no-such-backend'"),
        (("-p", "x", "--max-turns", "0"), None, "max-turns"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    model = write_script(tmp_path, ANSWER)
    proc = run_agent("launch", "-m", model, *args, cwd=tmp_path, stdin=stdin)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_missing_script_file_is_one_line(tmp_path: Path) -> None:
    proc = run_agent("launch", "-m", "scripted:nowhere.json", "-p", "hi", cwd=tmp_path)
    assert (
        proc.returncode == 1
        and proc.stderr.startswith("agent: error: no script file")
        and "Traceback" not in proc.stderr
    )


def test_turn_limit_exits_3(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("list_dir", f"c{i}", path=".", depth=i)] for i in range(1, 5)])
    proc = run_agent("launch", "-m", model, "-p", "go", "--max-turns", "2", "--output-format", "json", cwd=tmp_path)
    assert proc.returncode == 3
    result = json.loads(proc.stdout)
    assert result["stop_reason"] == "max_turns" and result["turns"] == 2
    assert "--max-turns" in proc.stderr


def test_repeated_tool_call_stops(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("list_dir", f"c{i}", path=".")] for i in range(5)])
    proc = run_agent("launch", "-m", model, "-p", "go", cwd=tmp_path)
    assert proc.returncode == 1 and "3 times in a row" in proc.stderr


@pytest.mark.slow
def test_continue_and_resume_carry_the_conversation(tmp_path: Path) -> None:
    first = write_script(tmp_path, [[text("first answer")]], "one.json")
    assert run_agent("launch", "-m", first, "-p", "one", cwd=tmp_path).returncode == 0
    second = write_script(tmp_path, [[text("second answer")]], "two.json")
    proc = run_agent("launch", "-m", second, "-p", "two", "--continue", "--output-format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    session_id = json.loads(proc.stdout)["session_id"]
    assert only_session(tmp_path) == ["one", "first answer", "two", "second answer"]
    third = write_script(tmp_path, [[text("third answer")]], "three.json")
    proc = run_agent("launch", "-m", third, "-p", "three", "--resume", session_id[:15], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert only_session(tmp_path)[-2:] == ["three", "third answer"]


def test_malformed_tool_call_is_answered_and_the_run_goes_on(tmp_path: Path) -> None:
    bad = {
        "type": "malformed_tool_call",
        "id": "m1",
        "raw": '{"name": "bash", "arguments": {',
        "error": "unclosed JSON",
    }
    model = write_script(tmp_path, [[bad], *ANSWER])
    proc = run_agent("launch", "-m", model, "-p", "go", "--output-format", "stream-json", "--debug", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    events = [event_adapter().validate_json(line) for line in proc.stdout.splitlines()]
    assert [e.type for e in events] == ["init", "tool_call", "tool_result", "text", "text", "result"]
    assert events[1].type == "tool_call" and events[1].id == "m1"
    assert events[2].type == "tool_result" and events[2].is_error and "unclosed JSON" in events[2].output


def test_a_run_that_cannot_start_is_an_error_event_then_the_result(tmp_path: Path) -> None:
    proc = run_agent("launch", "-m", "scripted:absent.json", "-p", "hi", "--output-format", "stream-json", cwd=tmp_path)
    assert proc.returncode == 1
    error, result = [event_adapter().validate_json(line) for line in proc.stdout.splitlines()]
    assert error.type == "error" and error.kind == "ModelNotFound" and "absent.json" in error.message
    assert result.type == "result" and result.is_error and result.exit_code == 1 and result.error == error.message


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (("-m", "scripted:absent.json", "-p", "hi"), None, 1, "no script file"),
        (("-m", "x", "--backend", "nosuch", "-p", "hi"), None, 2, "no backend named 'nosuch'"),
        (("-p", "hi", "--resume", "does-not-exist"), None, 2, "no session 'does-not-exist'"),
        ((), "", 2, "nothing to do"),
        (("-m", "qwen3", "--host", "http://127.0.0.1:9", "-p", "hi"), None, 1, "127.0.0.1:9"),
    ],
)
def test_json_output_is_one_result_object_when_the_run_cannot_start(
    tmp_path: Path, args: tuple[str, ...], stdin: str | None, code: int, message: str
) -> None:
    """Scripts that do ``| jq -r .result`` get an object with the error, never nothing."""
    proc = run_agent("launch", *args, "--output-format", "json", cwd=tmp_path, stdin=stdin)
    assert proc.returncode == code, proc.stderr
    result = ResultEvent.model_validate_json(proc.stdout)
    assert result.is_error and result.exit_code == code and result.error is not None and message in result.error
    assert result.stop_reason == "error" and result.result == "" and result.session_id is None
    assert proc.stderr == f"agent: error: {result.error}\n"


def test_allow_flags_add_to_the_config_files_rules(tmp_path: Path) -> None:
    import os

    config = Path(os.environ["XDG_CONFIG_HOME"]) / "agentshell" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('allow = ["bash(touch one*)"]\n')
    model = write_script(
        tmp_path, [[call("bash", "1", command="touch one.txt")], [call("bash", "2", command="touch two.txt")], *ANSWER]
    )
    proc = run_agent("launch", "-m", model, "-p", "go", "--allow", "bash(touch two*)", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "one.txt").exists() and (tmp_path / "two.txt").exists()
