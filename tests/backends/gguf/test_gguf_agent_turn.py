"""A whole agent turn on the real model: the loop, a real tool on real files, the answer after the result."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentshell_gguf import GGUFBackend

from agentshell.loop.agent import Agent, Limits
from agentshell.loop.outcomes import ToolOutcome, TurnStatus
from agentshell.permissions.gate import PermissionGate
from agentshell.protocol import ChatOptions, Event, ToolCallRequest
from agentshell.tools import ReadFile, ToolContext, ToolRunner

pytestmark = pytest.mark.slow


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.results: list[tuple[str, ToolOutcome]] = []

    def on_event(self, event: Event) -> None:
        self.events.append(event)

    def on_tool_start(self, call: ToolCallRequest) -> None:
        pass

    def on_tool_result(self, call: ToolCallRequest, result: ToolOutcome) -> None:
        self.results.append((call.name, result))

    def on_turn_end(self, status: TurnStatus) -> None:
        pass


def test_agent_reads_a_file_and_answers(loaded_backend: GGUFBackend, smollm2: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("The secret word is pineapple.\n")
    runner = ToolRunner([ReadFile()], ToolContext(workspace=tmp_path), PermissionGate("read-only", tmp_path))
    recorder = Recorder()
    # SmolLM2-135M never starts a tool call on its own; "first" makes its reply to the user a call,
    # and lets it answer freely once the result is back.
    options = ChatOptions(temperature=0, max_tokens=48, extra={"tool_choice": "first"})
    agent = Agent(loaded_backend, str(smollm2), runner, recorder, options=options, limits=Limits(max_turns=3))
    outcome = agent.run("Read the file notes.txt and tell me the secret word.")

    assert outcome.stop_reason == "stop" and outcome.turns == 2
    (call,) = outcome.tool_calls
    assert call.name == "read_file" and isinstance(call.arguments["path"], str)
    (name, result) = recorder.results[0]
    assert name == "read_file"
    roles = [m.role for m in agent.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert agent.messages[2].content == result.output
    assert outcome.result.strip()
    if call.arguments["path"] == "notes.txt":
        assert "pineapple" in result.output
    assert outcome.prompt_tokens > 0 and outcome.completion_tokens > 0
