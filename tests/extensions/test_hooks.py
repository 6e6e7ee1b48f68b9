"""Hooks with Claude Code's contract: real shell scripts, the real runner, gate and loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentshell.extensions.hooks import HookRun, HookRunner, matches
from agentshell.extensions.project_hooks import read_project_hooks
from agentshell.extensions.settings import HookConfig, HookEvent
from agentshell.extensions.toolbox import ExtendedToolRunner
from agentshell.loop.agent import Agent
from agentshell.loop.limits import Blocked
from agentshell.loop.outcomes import ToolOutcome, TurnStatus
from agentshell.permissions.gate import PermissionGate
from agentshell.protocol import Event, Message, ToolCallRequest
from agentshell.testing.scripted import ScriptedBackend
from agentshell.tools import ToolContext, default_tools
from tests.cli.launch_support import call, text
from tests.extensions.support import processes_running, wait_for

MARKER = "3601.0413"  # an unusual sleep, so /proc can tell the hook's sleep from any other


NOTICES: list[str] = []


def hooks(tmp_path: Path, event: HookEvent, *entries: dict[str, Any], debug: bool = False) -> HookRunner:
    configs = {event: [HookConfig.model_validate(e) for e in entries]}
    return HookRunner(configs, tmp_path, session_id=lambda: "s-1", notice=NOTICES.append, debug=debug)


@pytest.fixture(autouse=True)
def _clear_notices() -> None:
    NOTICES.clear()


def tool_runner(tmp_path: Path, hook_runner: HookRunner, mode: str = "yolo") -> ExtendedToolRunner:
    gate = PermissionGate(mode, tmp_path)  # type: ignore[arg-type]
    return ExtendedToolRunner(default_tools(), ToolContext(tmp_path), gate, hooks=hook_runner)


def test_pre_tool_use_gets_claude_codes_json_and_exit_0_goes_on(tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    runner = tool_runner(tmp_path, hooks(tmp_path, "PreToolUse", {"command": f"cat > {seen}", "matcher": "Write"}))
    result = runner.execute("write_file", {"path": "a.txt", "content": "hi\n"})
    assert not result.is_error and (tmp_path / "a.txt").read_text() == "hi\n"
    payload = json.loads(seen.read_text())
    assert payload == {
        "session_id": "s-1",
        "hook_event_name": "PreToolUse",
        "cwd": str(tmp_path),
        "tool_name": "write_file",
        "tool_input": {"path": "a.txt", "content": "hi\n"},
    }


def test_exit_2_blocks_with_stderr_as_the_reason(tmp_path: Path) -> None:
    script = "echo 'no writes on Fridays' >&2; exit 2"
    runner = tool_runner(tmp_path, hooks(tmp_path, "PreToolUse", {"command": script, "matcher": "write_file"}))
    result = runner.execute("write_file", {"path": "a.txt", "content": "x"})
    assert result.is_error and result.output == "error: blocked by a PreToolUse hook: no writes on Fridays"
    assert not (tmp_path / "a.txt").exists()
    assert not runner.execute("list_dir", {}).is_error  # the matcher picks the tools


@pytest.mark.parametrize(
    "answer",
    [
        {"decision": "block", "reason": "policy says no"},
        {"hookSpecificOutput": {"permissionDecision": "deny", "permissionDecisionReason": "policy says no"}},
    ],
)
def test_a_json_decision_blocks(tmp_path: Path, answer: dict[str, Any]) -> None:
    script = f"echo '{json.dumps(answer)}'"
    runner = tool_runner(tmp_path, hooks(tmp_path, "PreToolUse", {"command": script}))
    assert runner.execute("bash", {"command": "true"}).output.endswith("policy says no")


def test_a_hook_cannot_allow_what_the_gate_refuses(tmp_path: Path) -> None:
    script = """echo '{"hookSpecificOutput": {"permissionDecision": "allow"}}'"""
    runner = tool_runner(tmp_path, hooks(tmp_path, "PreToolUse", {"command": script}), mode="ask")
    result = runner.execute("bash", {"command": "true"})
    assert result.is_error and "needs approval" in result.output


def test_post_tool_use_sees_the_response_and_adds_to_what_the_model_reads(tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    context = {"hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "lint: 2 warnings"}}
    script = f"cat > {seen}; echo '{json.dumps(context)}'"
    runner = tool_runner(tmp_path, hooks(tmp_path, "PostToolUse", {"command": script, "matcher": "bash"}))
    result = runner.execute("bash", {"command": "echo hello"})
    assert result.output.startswith("hello") and result.output.endswith("lint: 2 warnings")
    response = json.loads(seen.read_text())["tool_response"]
    assert response["output"].startswith("hello") and response["is_error"] is False

    blocking = tool_runner(tmp_path, hooks(tmp_path, "PostToolUse", {"command": "echo 'tests fail' >&2; exit 2"}))
    assert blocking.execute("bash", {"command": "true"}).output.endswith("[PostToolUse hook: tests fail]")


def test_a_failing_hook_warns_and_the_agent_goes_on(tmp_path: Path) -> None:
    runner = tool_runner(tmp_path, hooks(tmp_path, "PreToolUse", {"command": "echo broken >&2; exit 1"}))
    assert not runner.execute("bash", {"command": "true"}).is_error
    assert NOTICES == ["warning: hook PreToolUse bash `echo broken >&2; exit 1` exit 1: broken; going on"]


@pytest.mark.timeout(120)  # liveness guard: waiting for the hour-long sleep that holds the pipes fails here
def test_a_hook_that_hangs_is_killed_at_its_timeout(tmp_path: Path) -> None:
    script = f"sleep {MARKER} & sleep {MARKER}"  # a background child holds the pipes open too
    runner = tool_runner(tmp_path, hooks(tmp_path, "PreToolUse", {"command": script, "timeout": 0.5}))
    assert not runner.execute("bash", {"command": "true"}).is_error
    assert "killed after 0.5 s" in NOTICES[0]
    assert wait_for(lambda: not processes_running(f"sleep {MARKER}"), 5)


@pytest.mark.parametrize(
    ("matcher", "tool", "expected"),
    [
        ("", "bash", True),
        ("*", "mcp__git__git_status", True),
        ("Bash", "bash", True),
        ("Edit|Write", "write_file", True),
        ("edit_file|write_file", "edit_file", True),
        ("mcp__git__*", "mcp__git__git_log", True),
        ("mcp__git__.*", "mcp__git__git_log", True),
        ("mcp__git__*", "mcp__time__now", False),
        ("Read", "bash", False),
        ("bash", "bashful", False),
    ],
)
def test_matchers(matcher: str, tool: str, expected: bool) -> None:
    assert matches(matcher, tool) is expected


class Quiet:
    """An observer that watches nothing: these tests read the backend's requests instead."""

    def on_event(self, event: Event) -> None: ...
    def on_tool_start(self, call: ToolCallRequest) -> None: ...
    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None: ...
    def on_turn_end(self, status: TurnStatus) -> None: ...


def agent(tmp_path: Path, responses: list[list[dict[str, Any]]], hook_runner: HookRunner) -> tuple[Agent, Any]:
    backend = ScriptedBackend({"responses": responses})
    runner = tool_runner(tmp_path, hook_runner)
    return Agent(backend, "script", runner, Quiet(), hooks=hook_runner), backend


def test_user_prompt_submit_adds_context_or_blocks(tmp_path: Path) -> None:
    adding = hooks(tmp_path, "UserPromptSubmit", {"command": "echo 'branch: main'"})
    loop, backend = agent(tmp_path, [[text("ok")]], adding)
    loop.run("what branch?")
    assert backend.requests[0].messages[-1] == Message(role="user", content="what branch?\n\nbranch: main")

    refusing = hooks(tmp_path, "UserPromptSubmit", {"command": "echo 'no secrets in prompts' >&2; exit 2"})
    loop, backend = agent(tmp_path, [[text("never")]], refusing)
    with pytest.raises(Blocked, match="no secrets in prompts"):
        loop.run("my password is hunter2")
    assert not backend.requests and not loop.messages  # it never reached the model or the transcript


def test_a_stop_hook_sends_the_model_back_once(tmp_path: Path) -> None:
    # The script refuses to stop the first time only: stop_hook_active says it already did.
    script = (
        "python3 -c 'import json,sys; sys.exit(1 if json.load(sys.stdin)[\"stop_hook_active\"] else 0)'"
        " && { echo 'run the tests first' >&2; exit 2; } || exit 0"
    )
    stopping = hooks(tmp_path, "Stop", {"command": script})
    script_of_the_model = [[text("done")], [call("bash", command="echo tests pass")], [text("done, tested")]]
    loop, backend = agent(tmp_path, script_of_the_model, stopping)
    outcome = loop.run("fix it")
    assert outcome.result == "done, tested" and outcome.turns == 3
    assert backend.requests[1].messages[-1] == Message(role="user", content="run the tests first")


def test_session_start_context_and_reports(tmp_path: Path) -> None:
    runs: list[HookRun] = []
    starting = hooks(tmp_path, "SessionStart", {"command": "echo 'You are on the release branch.'"}, debug=True)
    starting.listeners.append(runs.append)
    assert starting.session_start("startup") == "You are on the release branch."
    assert [(r.event, r.outcome, r.exit_code) for r in runs] == [("SessionStart", "ok", 0)]
    assert NOTICES and NOTICES[0].startswith("hook SessionStart `echo 'You are on the release branch.'` ok (")


def test_project_hooks_in_both_formats(tmp_path: Path) -> None:
    (tmp_path / ".agentshell").mkdir()
    (tmp_path / ".agentshell" / "config.toml").write_text(
        '[[hooks.PreToolUse]]\nmatcher = "bash"\ncommand = "./check.sh"\n', encoding="utf-8"
    )
    (tmp_path / ".claude").mkdir()
    claude = {
        "permissions": {"allow": ["Bash(ls)"]},
        "hooks": {
            "PostToolUse": [{"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "fmt", "timeout": 5}]}]
        },
    }
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps(claude), encoding="utf-8")
    found, problems = read_project_hooks(tmp_path)
    assert problems == []
    assert found["PreToolUse"] == [HookConfig(command="./check.sh", matcher="bash")]
    assert found["PostToolUse"] == [HookConfig(command="fmt", matcher="Edit|Write", timeout=5)]
