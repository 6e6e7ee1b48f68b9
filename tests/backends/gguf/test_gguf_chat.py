"""Real generation with SmolLM2-135M-Instruct through llama.cpp: chat, streaming, grammar-constrained calls."""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from agentshell_gguf import GGUFBackend
from agentshell_gguf.generation import Sampling, Turn, run_turn
from agentshell_gguf.grammar import tool_call_gbnf

from agentshell.protocol import (
    ChatOptions,
    ContextOverflow,
    Done,
    Event,
    Message,
    Notice,
    TextDelta,
    ToolCall,
    ToolSpec,
)

pytestmark = pytest.mark.slow

QUESTION = [Message(role="user", content="What is the capital of France? Answer in one short sentence.")]
GREEDY = ChatOptions(temperature=0, max_tokens=24, seed=0)

WEATHER = ToolSpec(
    name="get_weather",
    description="Get the current weather in a city",
    parameters={
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
        },
        "required": ["city", "unit"],
    },
)
READ_FILE = ToolSpec(
    name="read_file",
    description="Read a text file from the workspace",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)


@pytest.fixture(scope="module")
def first_chat(loaded_backend: GGUFBackend, smollm2: Path) -> list[Event]:
    return list(loaded_backend.chat(str(smollm2), QUESTION, options=GREEDY))


def text_of(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_real_chat_answers_after_a_loading_notice(first_chat: list[Event]) -> None:
    if isinstance(first_chat[0], Notice):  # absent only when another test loaded the model first
        assert first_chat[0].level == "loading"
        assert first_chat[0].text == "loading SmolLM2-135M-Instruct.Q4_1 (98.4 MB)…"
    assert "Paris" in text_of(first_chat)
    done = first_chat[-1]
    assert isinstance(done, Done) and done.stop_reason == "stop"


def test_streams_token_by_token_without_markup(first_chat: list[Event]) -> None:
    deltas = [e for e in first_chat if isinstance(e, TextDelta)]
    assert len(deltas) >= 4
    text = text_of(first_chat)
    assert "<|im_end|>" not in text and "<|im_start|>" not in text


def test_usage_is_exact_and_timed(first_chat: list[Event], loaded_backend: GGUFBackend, smollm2: Path) -> None:
    done = first_chat[-1]
    assert isinstance(done, Done)
    assert done.usage.prompt_tokens == loaded_backend.count_tokens(str(smollm2), QUESTION)
    assert 0 < done.usage.completion_tokens <= 24
    assert done.timings.prompt_ms is not None and done.timings.prompt_ms > 0
    assert done.timings.generation_ms is not None and done.timings.first_token_ms is not None


def test_count_tokens_without_loading_weights(smollm2: Path) -> None:
    backend = GGUFBackend({"threads": 1})
    assert backend.count_tokens(str(smollm2), QUESTION) > 10
    assert backend.loaded_model() is None


def _check_weather_call(call: ToolCall) -> None:
    assert call.name == "get_weather"
    assert call.id.startswith("call_") and len(call.id) == 13
    assert isinstance(call.arguments["city"], str)
    assert call.arguments["unit"] in ("celsius", "fahrenheit")
    assert set(call.arguments) <= {"city", "unit", "days"}
    assert isinstance(call.arguments.get("days", 0), int)


def test_grammar_constrained_tool_call(loaded_backend: GGUFBackend, smollm2: Path) -> None:
    messages = [Message(role="user", content="What is the weather in Paris, in celsius?")]
    options = ChatOptions(temperature=0, max_tokens=80, extra={"tool_choice": "required"})
    events = list(loaded_backend.chat(str(smollm2), messages, tools=[READ_FILE, WEATHER], options=options))
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert len(calls) == 1, events
    _check_weather_call(calls[0])
    assert "Paris" in calls[0].arguments["city"]
    assert text_of(events) == ""
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "tool_calls"


def test_sampled_tool_calls_always_validate(loaded_backend: GGUFBackend, smollm2: Path) -> None:
    """At temperature 1.2 the model writes nonsense, but never an invalid call."""
    messages = [Message(role="user", content="Weather for Tokyo?")]
    for seed in range(3):
        options = ChatOptions(temperature=1.2, seed=seed, max_tokens=60, extra={"tool_choice": "required"})
        events = list(loaded_backend.chat(str(smollm2), messages, tools=[WEATHER], options=options))
        done = events[-1]
        assert isinstance(done, Done)
        calls = [e for e in events if isinstance(e, ToolCall)]
        if done.stop_reason == "length":
            continue  # an endless string within the budget: cut, not invalid
        assert len(calls) == 1, events
        _check_weather_call(calls[0])


class OpensACall:
    """The real model, except that its first tokens are scripted to open a tool call mid-sentence.

    SmolLM2-135M never writes ``<tool_call>`` on its own, so this is how the switch from free
    to grammar-constrained decoding is exercised on a real llama.cpp model: everything after
    the scripted opening (the rewind, the grammar, the KV cache reuse) is the real engine.
    """

    def __init__(self, llm: Any, opening: str) -> None:
        self._llm = llm
        self._script = llm.tokenize(opening.encode(), add_bos=False, special=True)
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)

    def generate(self, tokens: list[int], **kwargs: Any) -> Generator[int, None, None]:
        self.calls += 1
        if self.calls == 1:
            return (token for token in self._script)
        generator: Generator[int, None, None] = self._llm.generate(tokens, **kwargs)
        return generator


@pytest.mark.parametrize("opening", ["Let me look.\n<tool_call>", 'Let me look.\n<tool_call>\n{"na'])
def test_switches_to_the_grammar_when_the_model_opens_a_call(
    loaded_backend: GGUFBackend, smollm2: Path, opening: str
) -> None:
    import llama_cpp

    list(loaded_backend.chat(str(smollm2), QUESTION, options=ChatOptions(max_tokens=1)))
    loaded = loaded_backend.loaded_model()
    assert loaded is not None
    llm = OpensACall(loaded.llm, opening)
    prompt = "<|im_start|>user\nRead notes.txt<|im_end|>\n<|im_start|>assistant\n"
    turn = Turn(
        llm=llm,
        prompt_tokens=llm.tokenize(prompt.encode(), add_bos=False, special=True),
        stops=("<|im_end|>",),
        sampling=Sampling(temperature=0),
        max_tokens=60,
        parse_tools=True,
        grammar=tool_call_gbnf([READ_FILE]),
        started=time.perf_counter(),
    )
    events = list(run_turn(llama_cpp, turn))
    assert text_of(events) == "Let me look.\n"
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert call.name == "read_file" and isinstance(call.arguments["path"], str)
    assert llm.calls == 2  # one scripted opening, then one constrained generation
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "tool_calls"


def test_prompt_over_the_window_is_refused(loaded_backend: GGUFBackend, smollm2: Path) -> None:
    long = [Message(role="user", content="word " * 3000)]
    with pytest.raises(ContextOverflow, match=r"tokens but SmolLM2-135M-Instruct\.Q4_1 is loaded with a 2048-token"):
        list(loaded_backend.chat(str(smollm2), long, options=ChatOptions(max_tokens=4)))


def test_closing_the_stream_early_leaves_the_backend_usable(loaded_backend: GGUFBackend, smollm2: Path) -> None:
    stream = loaded_backend.chat(str(smollm2), QUESTION, options=GREEDY)
    for event in stream:
        if isinstance(event, TextDelta):
            break
    stream.close()  # what Ctrl-C does
    again = list(loaded_backend.chat(str(smollm2), QUESTION, options=GREEDY))
    assert "Paris" in text_of(again)


def test_tool_descriptions_reach_the_model(loaded_backend: GGUFBackend, smollm2: Path) -> None:
    with_tools = loaded_backend.count_tokens(str(smollm2), QUESTION, [WEATHER])
    without = loaded_backend.count_tokens(str(smollm2), QUESTION)
    assert with_tools > without + len(json.dumps(WEATHER.parameters)) // 8


def test_memory_bound_window_is_loaded_once(smollm2: Path) -> None:
    from agentshell_gguf.engine import RUNTIME_OVERHEAD
    from agentshell_gguf.metadata import read_metadata

    meta = read_metadata(smollm2)
    budget = meta.size_bytes + RUNTIME_OVERHEAD + 1100 * meta.kv_bytes_per_token()
    backend = GGUFBackend({"threads": 1, "context_length": 2048, "max_memory": budget})
    try:
        first = list(backend.chat(str(smollm2), QUESTION, options=ChatOptions(max_tokens=1)))
        loaded = backend.loaded_model()
        assert loaded is not None and loaded.n_ctx == 1024  # what fits, rounded down to 256
        second = list(backend.chat(str(smollm2), QUESTION, options=ChatOptions(max_tokens=1)))
        assert any(isinstance(e, Notice) and e.level == "loading" for e in first)
        assert not any(isinstance(e, Notice) for e in second)
        assert backend.loaded_model() is loaded
    finally:
        loaded = backend.loaded_model()
        if loaded is not None:
            loaded.close()


def test_call_cut_by_the_token_budget_says_so(loaded_backend: GGUFBackend, smollm2: Path) -> None:
    from agentshell.protocol import MalformedToolCall

    messages = [Message(role="user", content="What is the weather in Paris, in celsius?")]
    options = ChatOptions(temperature=0, max_tokens=6, extra={"tool_choice": "required"})
    events = list(loaded_backend.chat(str(smollm2), messages, tools=[WEATHER], options=options))
    (cut,) = [e for e in events if isinstance(e, MalformedToolCall)]
    assert cut.error == "the tool call was cut off after 6 tokens (the max_tokens limit); write a shorter call"
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "length"
