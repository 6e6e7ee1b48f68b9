"""The loop itself, in-process: scripted backend, the real ToolRunner and PermissionGate, a real session on disk."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from agentshell.loop.agent import Agent
from agentshell.loop.limits import Interrupted, Limits, RepeatedToolCall, TurnLimitReached
from agentshell.loop.outcomes import ToolOutcome, TurnStatus
from agentshell.permissions.gate import PermissionGate
from agentshell.protocol import (
    BackendUnavailable,
    ChatOptions,
    Done,
    Event,
    Message,
    ModelInfo,
    TextDelta,
    ToolCallRequest,
    ToolSpec,
    Usage,
)
from agentshell.session import SessionStore
from agentshell.testing.scripted import ScriptedBackend
from agentshell.tools.base import ToolArgs, ToolContext, ToolResult
from agentshell.tools.runner import ToolRunner


class EchoArgs(ToolArgs):
    text: str


class EchoTool:
    """A read tool that answers with its argument, counting its runs."""

    name: ClassVar[str] = "echo"
    description: ClassVar[str] = "Echo the text back."
    kind: ClassVar[Any] = "read"
    Args: ClassVar[type[BaseModel]] = EchoArgs

    def __init__(self) -> None:
        self.runs = 0

    def run(self, args: BaseModel, ctx: ToolContext) -> ToolResult:
        assert isinstance(args, EchoArgs)
        self.runs += 1
        return ToolResult(output=f"echo: {args.text}", summary="echoed")


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.results: list[tuple[str, ToolOutcome]] = []
        self.statuses: list[TurnStatus] = []
        self.started: list[str] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def on_tool_start(self, call: ToolCallRequest) -> None:
        self.started.append(call.name)

    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None:
        self.results.append((call.name, result))

    def on_turn_end(self, status: TurnStatus) -> None:
        self.statuses.append(status)


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def call(name: str, cid: str = "c1", **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": cid, "name": name, "arguments": arguments}


def make_agent(
    tmp_path: Path, responses: list[list[dict[str, Any]]], **kwargs: Any
) -> tuple[Agent, ScriptedBackend, Recorder, EchoTool]:
    backend = ScriptedBackend({"responses": responses})
    tool = EchoTool()
    runner = ToolRunner([tool], ToolContext(workspace=tmp_path), PermissionGate("ask", tmp_path))
    recorder = Recorder()
    agent = Agent(backend, "script", runner, recorder, system_prompt="be brief", **kwargs)
    return agent, backend, recorder, tool


def test_tool_call_then_answer(tmp_path: Path) -> None:
    agent, backend, recorder, tool = make_agent(
        tmp_path,
        [
            [text("let me look"), call("echo", text="hi")],
            [text("the tool said "), text("**hi**"), {"type": "done", "usage": {"prompt_tokens": 9}}],
        ],
    )
    outcome = agent.run("say hi")
    assert outcome.result == "the tool said **hi**"
    assert outcome.turns == 2 and tool.runs == 1
    assert outcome.prompt_tokens == 9
    assert [c.name for c in outcome.tool_calls] == ["echo"]
    # The second request carried the system prompt, the assistant's call and the tool's result.
    second = backend.requests[1].messages
    assert second[0] == Message(role="system", content="be brief")
    assert second[2].tool_calls[0].name == "echo"
    assert second[3] == Message(role="tool", content="echo: hi", tool_call_id="c1", name="echo")
    assert [s.name for s in backend.requests[0].tools] == ["echo"]
    assert recorder.started == ["echo"] and len(recorder.statuses) == 2


def test_malformed_call_becomes_error_result_and_loop_goes_on(tmp_path: Path) -> None:
    agent, backend, recorder, _ = make_agent(
        tmp_path,
        [
            [{"type": "malformed_tool_call", "id": "m1", "raw": "<tool_call>{oops", "error": "invalid JSON"}],
            [text("sorry, done")],
        ],
    )
    assert agent.run("go").result == "sorry, done"
    tool_message = backend.requests[1].messages[-1]
    assert tool_message.role == "tool" and tool_message.tool_call_id == "m1"
    assert "invalid JSON" in tool_message.content and "{oops" in tool_message.content
    assert recorder.results[0][1].is_error


def test_unknown_tool_and_bad_arguments_are_told_to_the_model(tmp_path: Path) -> None:
    agent, backend, _, tool = make_agent(
        tmp_path,
        [[call("nope", "a"), call("echo", "b", wrong=1)], [text("ok")]],
    )
    agent.run("go")
    answers = [m.content for m in backend.requests[1].messages if m.role == "tool"]
    assert "unknown tool" in answers[0]
    assert "text" in answers[1] and tool.runs == 0


def test_repeated_identical_call_stops_with_a_message(tmp_path: Path) -> None:
    responses = [[call("echo", f"c{i}", text="same")] for i in range(5)]
    agent, _, _, tool = make_agent(tmp_path, responses)
    with pytest.raises(RepeatedToolCall, match="3 times in a row"):
        agent.run("loop forever")
    assert tool.runs == 2
    # Every call in the transcript is answered, so the conversation can continue on any backend.
    assert agent.messages[-1].role == "tool" and "repeated" in agent.messages[-1].content


def test_repeats_count_within_one_request_only(tmp_path: Path) -> None:
    """ "run echo hi", "again please", "third time": each request may repeat what the last one did."""
    responses = [r for i in range(4) for r in ([call("echo", f"c{i}", text="hi")], [text(f"done {i}")])]
    agent, _, _, tool = make_agent(tmp_path, responses)
    assert [agent.run(prompt).result for prompt in ("run it", "again", "third time", "fourth")] == [
        "done 0",
        "done 1",
        "done 2",
        "done 3",
    ]
    assert tool.runs == 4


class CounterArgs(ToolArgs):
    path: str


class CounterTool:
    """Answers differently each time, as the tests do once a file was edited between two runs."""

    name: ClassVar[str] = "count"
    description: ClassVar[str] = "Count."
    kind: ClassVar[Any] = "read"
    Args: ClassVar[type[BaseModel]] = CounterArgs

    def __init__(self) -> None:
        self.runs = 0

    def run(self, args: BaseModel, ctx: ToolContext) -> ToolResult:
        self.runs += 1
        return ToolResult(output=f"{self.runs} failed" if self.runs < 5 else "all passed")


def test_the_same_call_with_a_new_answer_is_progress_not_a_loop(tmp_path: Path) -> None:
    responses = [[call("count", f"c{i}", path="tests")] for i in range(5)] + [[text("green")]]
    backend = ScriptedBackend({"responses": responses})
    tool = CounterTool()
    runner = ToolRunner([tool], ToolContext(workspace=tmp_path), PermissionGate("ask", tmp_path))
    agent = Agent(backend, "script", runner, Recorder())
    assert agent.run("make the tests pass").result == "green" and tool.runs == 5


def test_different_arguments_are_not_repeats(tmp_path: Path) -> None:
    responses = [[call("echo", f"c{i}", text=str(i % 2))] for i in range(4)] + [[text("done")]]
    agent, _, _, tool = make_agent(tmp_path, responses)
    assert agent.run("go").result == "done" and tool.runs == 4


def test_oversized_arguments_get_an_error_result(tmp_path: Path) -> None:
    agent, backend, _, tool = make_agent(
        tmp_path, [[call("echo", text="x" * 2_000_000)], [text("ok")]], limits=Limits(max_argument_bytes=1_000_000)
    )
    agent.run("go")
    assert tool.runs == 0
    assert "over the limit" in backend.requests[1].messages[-1].content


def test_turn_limit(tmp_path: Path) -> None:
    responses = [[call("echo", f"c{i}", text=str(i))] for i in range(5)]
    agent, _, _, _ = make_agent(tmp_path, responses, limits=Limits(max_turns=2))
    with pytest.raises(TurnLimitReached) as info:
        agent.run("go")
    assert info.value.exit_code == 3 and agent.outcome.turns == 2
    assert str(info.value) == "stopped after 2 model requests (--max-turns); the task is unfinished"
    agent, _, _, _ = make_agent(tmp_path, responses, limits=Limits(max_turns=1))
    with pytest.raises(TurnLimitReached, match="stopped after 1 model request "):
        agent.run("go")


class InterruptingBackend(ScriptedBackend):
    """Streams two deltas, then the user presses Ctrl-C."""

    def chat(
        self, model: str, messages: Sequence[Message], *, tools: Sequence[ToolSpec] = (), options: ChatOptions
    ) -> Iterator[Event]:
        yield TextDelta(text="partial ")
        yield TextDelta(text="answer")
        raise KeyboardInterrupt

    def describe(self, model: str) -> ModelInfo:
        return ModelInfo(name=model, backend=self.name)


def test_ctrl_c_keeps_the_partial_answer_marked_interrupted(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    session = store.create(tmp_path)
    runner = ToolRunner([EchoTool()], ToolContext(workspace=tmp_path), PermissionGate("ask", tmp_path))
    agent = Agent(InterruptingBackend(), "m", runner, Recorder(), session=session)
    with pytest.raises(Interrupted) as info:
        agent.run("start")
    assert info.value.exit_code == 130
    assert agent.messages[-1] == Message(role="assistant", content="partial answer", interrupted=True)
    session.close()
    reloaded = store.load(session.id)
    assert [m.content for m in reloaded.messages] == ["start", "partial answer"]
    assert reloaded.messages[-1].interrupted
    reloaded.close()


def test_backend_failure_mid_stream_keeps_partial_and_raises(tmp_path: Path) -> None:
    agent, _, _, _ = make_agent(
        tmp_path, [[text("half"), {"type": "raise", "error": "BackendUnavailable", "message": "server went away"}]]
    )
    with pytest.raises(BackendUnavailable, match="server went away"):
        agent.run("go")
    assert agent.messages[-1].content == "half" and agent.messages[-1].interrupted


def test_every_message_is_saved_and_switching_backend_carries_the_conversation(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    session = store.create(tmp_path)
    agent, _, _, _ = make_agent(tmp_path, [[call("echo", text="a")], [text("first")]], session=session)
    agent.run("one")
    assert len(session.messages) == 4  # user, assistant call, tool, assistant answer
    other = ScriptedBackend({"responses": [[text("second")]]})
    agent.switch(other, "other-model", None)
    assert agent.run("two").result == "second"
    assert [m.content for m in other.requests[0].messages][-3:] == ["echo: a", "first", "two"]
    session.close()
    assert len(store.load(session.id).messages) == 6


def test_status_reports_share_of_the_window(tmp_path: Path) -> None:
    from agentshell.loop.context import ContextKeeper

    agent, _, recorder, _ = make_agent(
        tmp_path,
        [[text("hi"), {"type": "done", "usage": {"prompt_tokens": 150, "completion_tokens": 50}}]],
        context=ContextKeeper(1000),
    )
    agent.run("hello")
    status = recorder.statuses[0]
    assert status.usage == Usage(prompt_tokens=150, completion_tokens=50)
    assert status.share == pytest.approx(0.2)
    assert (status.backend, status.model) == ("scripted", "script")


class SummarizingBackend(ScriptedBackend):
    """Answers the keeper's summary requests itself; the rest of the script is the conversation."""

    summaries = 0

    def chat(
        self, model: str, messages: Sequence[Message], *, tools: Sequence[ToolSpec] = (), options: ChatOptions
    ) -> Iterator[Event]:
        if messages[0].role == "system" and "compress" in messages[0].content:
            self.summaries += 1
            return iter([TextDelta(text="SUMMARY: the user asked six questions"), Done()])
        return super().chat(model, messages, tools=tools, options=options)


def test_compaction_summarizes_through_the_model(tmp_path: Path) -> None:
    from agentshell.loop.context import ContextKeeper

    long = "word " * 400
    history = []
    for i in range(6):
        history += [Message(role="user", content=f"q{i} {long}"), Message(role="assistant", content=f"a{i} {long}")]
    backend = SummarizingBackend({"responses": [[text("fine")]]})
    runner = ToolRunner([EchoTool()], ToolContext(workspace=tmp_path), PermissionGate("ask", tmp_path))
    agent = Agent(backend, "m", runner, Recorder(), context=ContextKeeper(4000), messages=history)
    assert agent.run("next").result == "fine"
    assert backend.summaries >= 1 and len(backend.requests) == 1
    sent = backend.requests[0].messages
    assert any("SUMMARY: the user asked six questions" in m.content for m in sent)
    assert sent[-1].content == "next"
    assert len(agent.messages) < len(history)


def test_failure_before_any_content_adds_no_empty_answer(tmp_path: Path) -> None:
    agent, _, _, _ = make_agent(tmp_path, [[{"type": "raise", "error": "RateLimited", "message": "slow down"}]])
    with pytest.raises(Exception, match="slow down"):
        agent.run("go")
    assert [m.role for m in agent.messages] == ["user"]
