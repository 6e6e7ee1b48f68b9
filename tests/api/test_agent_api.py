"""The embedding API end to end, in-process: the real loop, tools, gate, sessions and checkpoints, a scripted model."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agentshell.api import (
    Agent,
    ApprovalRequest,
    BackendFailure,
    CheckpointEvent,
    ErrorEvent,
    ResultEvent,
    StreamEvent,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
    UserError,
    open_agent,
)
from tests.cli.launch_support import MARKER, call, process_gone, sleeping_pids, text, wait_for, write_script

LOOK_THEN_ANSWER = [
    [text("Let me look."), call("bash", command="echo hello")],
    [text("It says "), text("hello.")],
]


def types(events: list[StreamEvent]) -> list[str]:
    return [e.type for e in events]


def test_run_reports_the_events_stream_json_prints_and_the_conversation_goes_on(tmp_path: Path) -> None:
    model = write_script(tmp_path, [*LOOK_THEN_ANSWER, [text("Still here.")]])
    events: list[StreamEvent] = []
    with open_agent(tmp_path, model, allow=["bash(echo *)"]) as agent:
        first = agent.run("what does echo say?", on_event=events.append)
        assert types(events) == ["text", "tool_call", "checkpoint", "tool_result", "text", "text", "result"]
        assert events[-1] is first and first.result == "It says hello." and first.exit_code == 0
        assert isinstance(events[3], ToolResultEvent) and "hello" in events[3].output and not events[3].is_error
        assert first.session_id == agent.session_id and first.backend == "scripted" and first.turns == 2
        second = agent.run("still there?")
        assert second.result == "Still here."
        assert [m.role for m in agent.messages] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
        init = agent.init_event()
        assert init.session_id == agent.session_id and "bash" in init.tools and init.cwd == str(tmp_path.resolve())


def test_stream_yields_the_same_events_and_approvals_go_through_the_callback(tmp_path: Path) -> None:
    model = write_script(tmp_path, LOOK_THEN_ANSWER)
    asked: list[tuple[ApprovalRequest, ToolCallEvent | None]] = []
    agent: Agent

    def approve(request: ApprovalRequest) -> Any:
        asked.append((request, agent.current_tool_call))
        return "yes"

    with open_agent(tmp_path, model, approve=approve) as agent:
        events = list(agent.stream("look"))
    assert types(events) == ["text", "tool_call", "checkpoint", "tool_result", "text", "text", "result"]
    ((request, current),) = asked
    assert (request.tool, request.kind, request.detail) == ("bash", "execute", "echo hello")
    assert current is not None and current.id == "c1" and current.arguments == {"command": "echo hello"}


def test_a_no_is_what_the_model_reads_and_always_is_remembered(tmp_path: Path) -> None:
    model = write_script(
        tmp_path,
        [
            [call("bash", "a", command="echo one")],
            [call("bash", "b", command="echo two")],
            [call("bash", "c", command="echo two")],
            [text("done")],
        ],
    )
    answers = iter(["no", "always"])
    asked: list[str] = []

    def approve(request: ApprovalRequest) -> Any:
        asked.append(request.summary)
        return next(answers)

    with open_agent(tmp_path, model, approve=approve) as agent:
        results = [e for e in agent.stream("go") if isinstance(e, ToolResultEvent)]
    assert asked == ["bash: echo one", "bash: echo two"]  # the third call was covered by "always"
    assert results[0].is_error and "denied by the user" in results[0].output
    assert not results[1].is_error and not results[2].is_error


def test_without_approve_asking_calls_are_denied_as_in_scripted_runs(tmp_path: Path) -> None:
    model = write_script(tmp_path, LOOK_THEN_ANSWER)
    with open_agent(tmp_path, model) as agent:
        result = agent.run("look")
    assert [d.name for d in result.permission_denials] == ["bash"]
    assert "--allow" in result.permission_denials[0].message


def test_a_backend_failure_is_a_result_and_the_agent_stays_usable(tmp_path: Path) -> None:
    model = write_script(
        tmp_path,
        [
            [text("partial "), {"type": "raise", "error": "BackendUnavailable", "message": "server went away"}],
            [text("ok")],
        ],
    )
    events: list[StreamEvent] = []
    with open_agent(tmp_path, model) as agent:
        failed = agent.run("one", on_event=events.append)
        assert types(events) == ["text", "error", "result"]
        error = events[1]
        assert isinstance(error, ErrorEvent) and error.kind == "BackendUnavailable" and error.exit_code == 1
        assert failed.is_error and failed.stop_reason == "error" and "server went away" in (failed.error or "")
        assert agent.run("two").result == "ok"


def test_cancel_from_another_thread_stops_a_long_stream_like_ctrl_c(tmp_path: Path) -> None:
    """The run is in the main thread here: cancel sends a real SIGINT, as ACP's cancel does."""
    tokens = [step for i in range(200) for step in (text(f"t{i} "), {"type": "sleep", "seconds": 0.02})]
    model = write_script(tmp_path, [tokens, [text("after")]])
    seen: list[StreamEvent] = []
    with open_agent(tmp_path, model) as agent:
        timer = threading.Timer(0.4, agent.cancel)
        timer.start()
        result = agent.run("talk", on_event=seen.append)
        timer.join()
        assert result.stop_reason == "interrupted" and result.exit_code == 130
        assert 3 < sum(isinstance(e, TextEvent) for e in seen) < 200  # stopped mid-stream, by the cancel
        last = agent.messages[-1]
        assert last.role == "assistant" and last.interrupted and last.content.startswith("t0 t1 ")
        assert agent.cancel() is False  # nothing runs now
        assert agent.run("again").result == "after"


def test_cancel_stops_the_running_command_and_its_processes(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[call("bash", command=f"sleep {MARKER}")], [text("unreachable")]])
    with open_agent(tmp_path, model, allow=["bash(sleep *)"]) as agent:
        events = agent.stream("sleep")
        for event in events:
            if isinstance(event, ToolCallEvent):
                break
        assert wait_for(sleeping_pids, 10)
        (pid,) = sleeping_pids()
        assert agent.cancel()
        rest = list(events)
    assert rest[-1].type == "result" and isinstance(rest[-1], ResultEvent) and rest[-1].stop_reason == "interrupted"
    assert wait_for(lambda: process_gone(pid), 10)


def test_leaving_a_stream_early_cancels_the_run(tmp_path: Path) -> None:
    tokens = [step for i in range(500) for step in (text(f"t{i} "), {"type": "sleep", "seconds": 0.01})]
    model = write_script(tmp_path, [tokens, [text("next")]])
    with open_agent(tmp_path, model) as agent:
        for event in agent.stream("talk"):
            if isinstance(event, TextEvent):
                break
        assert not agent.running
        assert agent.run("next").result == "next"


def test_a_cancel_racing_the_end_of_a_run_never_escapes(tmp_path: Path) -> None:
    """However a cancel and the end of a run interleave, run() returns a result and nothing is raised later."""
    runs = 25
    model = write_script(tmp_path, [[text("x")] for _ in range(runs)])
    with open_agent(tmp_path, model) as agent:
        for i in range(runs):
            timer = threading.Timer(0.001 * (i % 8), agent.cancel)
            timer.start()
            result = agent.run("go")
            timer.join()
            assert result.stop_reason in ("stop", "interrupted")
            time.sleep(0.01)  # a late interrupt would land here


def test_resume_goes_on_with_a_saved_conversation(tmp_path: Path) -> None:
    model = write_script(tmp_path, [[text("first")], [text("second")]])
    with open_agent(tmp_path, model) as agent:
        agent.run("one")
        session_id = agent.session_id
    with open_agent(tmp_path, model, resume=session_id) as again:
        assert again.session_id == session_id
        assert [m.content for m in again.messages] == ["one", "first"]


def test_settings_change_between_runs(tmp_path: Path) -> None:
    first = write_script(tmp_path, [[text("from one")]], name="one.json")
    writes = [[call("write_file", path="new.txt", content="hi\n")], [text("from two")]]
    second = write_script(tmp_path, writes, name="two.json")
    with open_agent(tmp_path, first, permission_mode="read-only") as agent:
        assert agent.run("a").result == "from one"
        agent.set_model(second)
        agent.set_permission_mode("accept-edits")
        assert (agent.model, agent.permission_mode) == (second.removeprefix("scripted:"), "accept-edits")
        events: list[StreamEvent] = []
        assert agent.run("b", on_event=events.append).result == "from two"
    assert (tmp_path / "new.txt").read_text() == "hi\n"
    assert any(isinstance(e, CheckpointEvent) for e in events)  # leaving read-only started checkpoints


def test_what_cannot_work_says_so_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(BackendFailure, match="no script file"):
        open_agent(tmp_path, f"scripted:{tmp_path / 'missing.json'}")
    with pytest.raises(UserError, match="no session"):
        open_agent(tmp_path, write_script(tmp_path, []), resume="nonexistent")
    agent = open_agent(tmp_path, write_script(tmp_path, [[text("x")]]))
    with pytest.raises(UserError, match="unknown permission mode"):
        agent.set_permission_mode("careful")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="empty"):
        agent.run("  ")
    agent.close()
    agent.close()
    with pytest.raises(UserError, match="closed"):
        agent.run("hello")


class Recorder:
    """A loop observer (loop/ports.py), as the shell's renderer is one."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_event(self, event: Any) -> None:
        self.calls.append(f"event:{event.type}")

    def on_tool_start(self, call: Any) -> None:
        self.calls.append(f"start:{call.id}")

    def on_tool_result(self, call: Any, result: Any) -> None:
        self.calls.append(f"result:{call.id}")

    def on_turn_end(self, status: Any) -> None:
        self.calls.append(f"turn:{status.backend}")


def test_an_observer_gets_the_loops_callbacks_and_its_notices(tmp_path: Path) -> None:
    notice = {"type": "notice", "level": "warning", "text": "slow server"}
    model = write_script(tmp_path, [[notice, call("bash", command="echo hi")], [text("ok")]])
    notices: list[str] = []
    observer = Recorder()
    with open_agent(tmp_path, model, allow=["bash(echo *)"], on_notice=notices.append) as agent:
        events: list[StreamEvent] = []
        result = agent.run("go", on_event=events.append, observer=observer)
        assert result.result == "ok" and types(events)[-1] == "result"  # the events come as well
        assert observer.calls[:3] == ["event:notice", "event:tool_call", "event:done"]
        assert observer.calls[3:] == [
            "turn:scripted",
            "start:c1",
            "result:c1",
            "event:text",
            "event:done",
            "turn:scripted",
        ]
        assert notices == []  # the observer had the loop's notice
    with open_agent(
        tmp_path, write_script(tmp_path, [[notice, text("x")]], "n.json"), on_notice=notices.append
    ) as plain:
        plain.run("go")
    assert notices == ["warning: slow server"]  # without an observer, a notice is a line


def test_a_no_can_end_the_run_and_a_new_session_starts_over(tmp_path: Path) -> None:
    model = write_script(
        tmp_path,
        [[call("bash", "a", command="echo one"), call("bash", "b", command="echo two")], [text("fine")]],
    )
    agent: Agent

    def approve(request: ApprovalRequest) -> Any:
        agent.stop_after_call("the user will say what to do instead")
        return "no"

    with open_agent(tmp_path, model, approve=approve) as agent:
        events: list[StreamEvent] = []
        declined = agent.run("go", on_event=events.append)
        assert declined.stop_reason == "declined" and declined.is_error
        results = [e for e in events if isinstance(e, ToolResultEvent)]
        assert [r.id for r in results] == ["a", "b"] and "not run" in results[1].output  # b was never asked about
        first = agent.session_id
        assert agent.compact() is None  # nothing old enough to summarize
        agent.new_session()
        assert agent.session_id != first and agent.messages == ()
        assert agent.run("hello").result == "fine"
        assert [m.content for m in agent.messages] == ["hello", "fine"]
