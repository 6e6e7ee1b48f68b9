"""Real SmolLM2 turns that exercise how calls end: the budget closer, several blocks, repeats, thinking,
and the default tool_choice.

:class:`Steered` scripts what the model writes by a logit bias on top of the real llama.cpp sampler:
the tools' grammar still filters every token, so a scripted token the grammar forbids is simply not
written (the model picks an allowed one instead), which is what the tests of the grammar rely on.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from agentshell_gguf import GGUFBackend
from agentshell_gguf.closing import looping, open_depth
from agentshell_gguf.generation import Sampling, Turn, run_turn
from agentshell_gguf.grammar import tool_call_gbnf

from agentshell.protocol import (
    BackendError,
    ChatOptions,
    Done,
    Event,
    MalformedToolCall,
    Message,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolSpec,
)

pytestmark = pytest.mark.slow

READ_FILE = ToolSpec(
    name="read_file",
    description="Read a text file from the workspace",
    parameters={"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)
SEQUENCE = ToolSpec(
    name="analyze_sequence",
    description="Analyze a DNA sequence given as a list of bases",
    parameters={
        "type": "object",
        "properties": {
            "bases": {"type": "array", "items": {"type": "string"}, "description": "the bases, one per item"},
            "organism": {"type": "string"},
        },
        "required": ["bases", "organism"],
    },
)
PROMPT = "<|im_start|>user\nRead a.md and b.md<|im_end|>\n<|im_start|>assistant\n"


class Steered:
    """The real model; each ``generate`` call writes its script first (biased, grammar permitting)."""

    def __init__(self, llm: Any, *scripts: str, strength: float = 1000.0) -> None:
        self._llm = llm
        self._strength = strength
        self._scripts = [llm.tokenize(s.encode(), add_bos=False, special=True) for s in scripts]
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)

    def generate(self, tokens: list[int], **kwargs: Any) -> Generator[int, None, None]:
        script = self._scripts[self.calls] if self.calls < len(self._scripts) else []
        self.calls += 1
        start = len(tokens)

        def steer(input_ids: Any, scores: Any) -> Any:
            step = len(input_ids) - start
            if 0 <= step < len(script):
                scores[script[step]] += self._strength
            return scores

        processors = [*(kwargs.pop("logits_processor", None) or []), steer]
        generator: Generator[int, None, None] = self._llm.generate(tokens, logits_processor=processors, **kwargs)
        return generator


@pytest.fixture
def llm(loaded_backend: GGUFBackend, smollm2: Path) -> Any:
    list(loaded_backend.chat(str(smollm2), [Message(role="user", content="hi")], options=ChatOptions(max_tokens=1)))
    loaded = loaded_backend.loaded_model()
    assert loaded is not None
    return loaded.llm


def turn(
    llm: Any, tools: tuple[ToolSpec, ...] = (), *, force: bool = False, max_tokens: int = 80, **extra: Any
) -> list[Event]:
    """One real turn; a forced call gets the one-block grammar, as the backend gives it."""
    spec = Turn(
        llm=llm,
        prompt_tokens=llm.tokenize(PROMPT.encode(), add_bos=False, special=True),
        stops=("<|im_end|>",),
        sampling=Sampling(temperature=0),
        max_tokens=max_tokens,
        parse_tools=bool(tools),
        grammar=tool_call_gbnf(tools, several_blocks=not force),
        started=time.perf_counter(),
        force_call=force,
        tools=tools,
        **extra,
    )
    import llama_cpp

    return list(run_turn(llama_cpp, spec))


def calls_of(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)]


def block(path: str) -> str:
    return f'\n{{"name": "read_file", "arguments": {{"path": "{path}"}}}}\n</tool_call>'


# --------------------------------------------------------------------------- several blocks


def test_the_model_may_write_several_blocks(llm: Any) -> None:
    steered = Steered(llm, "I will read both.\n<tool_call>", block("a.md") + "\n<tool_call>" + block("b.md"))
    events = turn(steered, (READ_FILE,))
    assert calls_of(events)[:2] == [("read_file", {"path": "a.md"}), ("read_file", {"path": "b.md"})]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "I will read both.\n"
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "tool_calls"


def test_a_repeated_call_is_dropped_and_ends_the_turn(llm: Any) -> None:
    steered = Steered(llm, "<tool_call>", block("a.md") + "\n<tool_call>" + block("a.md") + "\n<tool_call>")
    events = turn(steered, (READ_FILE,))
    assert calls_of(events) == [("read_file", {"path": "a.md"})]
    assert not any(isinstance(e, MalformedToolCall) for e in events)  # stopped before the third block


def test_a_forced_call_is_one_block(llm: Any) -> None:
    steered = Steered(llm, block("a.md") + "\n<tool_call>" + block("b.md"))
    events = turn(steered, (READ_FILE,), force=True)
    assert calls_of(events) == [("read_file", {"path": "a.md"})]


# --------------------------------------------------------------------------- the budget closer


def test_open_depth_counts_containers_and_strings() -> None:
    assert open_depth('{"name": "f", "arguments": {"bases": ["G", "C') == 4
    assert open_depth('{"a": "x\\"]}", "b": [1, {}]') == 1
    assert open_depth("") == 0


def test_a_looping_array_is_closed_within_the_budget(llm: Any) -> None:
    """Without the closer this call is cut mid-array (the failure BFCL showed); with it, it stays valid."""
    items = ", ".join(['"G", "C"'] * 40)
    # Weaker than the closer's bias, as a model's own preference is.
    steered = Steered(llm, f'\n{{"name": "analyze_sequence", "arguments": {{"bases": [{items}', strength=30.0)
    for budget in (45, 60, 80):
        events = turn(steered, (SEQUENCE,), force=True, max_tokens=budget)
        steered.calls = 0
        ((name, args),) = calls_of(events)
        assert name == "analyze_sequence" and set(args) == {"bases", "organism"}
        assert isinstance(args["organism"], str) and all(b in ("G", "C", "") for b in args["bases"])
        done = events[-1]
        assert isinstance(done, Done) and done.stop_reason == "tool_calls"
        assert done.usage.completion_tokens <= budget


def test_a_loop_is_closed_long_before_a_large_budget(llm: Any) -> None:
    items = ", ".join(['"G", "C"'] * 60)
    steered = Steered(llm, f'\n{{"name": "analyze_sequence", "arguments": {{"bases": [{items}', strength=30.0)
    events = turn(steered, (SEQUENCE,), force=True, max_tokens=600)
    ((_, args),) = calls_of(events)
    assert 32 <= len(args["bases"]) <= 40 and set(args) == {"bases", "organism"}
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "tool_calls" and done.usage.completion_tokens < 200


def test_loops_are_told_from_repeated_content() -> None:
    assert looping('"bases": [' + '"G", "C", ' * 16)
    assert looping("[" + "0, " * 16)
    assert not looping("[" + "0, " * 15)
    assert not looping('"paths": ["a.md", "b.md", "c.md", "d.md", "e.md", "f.md", "g.md", "h.md", "i.md", ')


def test_a_budget_too_small_for_any_call_says_so(llm: Any) -> None:
    events = turn(Steered(llm), (SEQUENCE,), force=True, max_tokens=5)
    (cut,) = [e for e in events if isinstance(e, MalformedToolCall)]
    assert "cut off after 5 tokens (the max_tokens limit)" in cut.error
    done = events[-1]
    assert isinstance(done, Done) and done.stop_reason == "length"


# --------------------------------------------------------------------------- thinking


def test_a_think_block_becomes_thinking_deltas(llm: Any) -> None:
    steered = Steered(llm, "<think>\nThey want two files read.\n</think>\n\nSure")
    events = turn(steered, max_tokens=24)
    thinking = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert thinking == "They want two files read."
    assert text.startswith("Sure") and "think>" not in text


def test_a_preopened_think_block_and_a_call_after_it(llm: Any) -> None:
    steered = Steered(llm, "Both files.\n</think>\n<tool_call>", block("a.md"))
    events = turn(steered, (READ_FILE,), thinking_opened=True)
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "Both files."
    assert calls_of(events)[0] == ("read_file", {"path": "a.md"})


# --------------------------------------------------------------------------- tool_choice default


def test_a_template_without_tools_defaults_to_first(loaded_backend: GGUFBackend, smollm2: Path) -> None:
    messages = [Message(role="user", content="Show me notes.txt")]
    greedy = ChatOptions(temperature=0, max_tokens=40)
    first = list(loaded_backend.chat(str(smollm2), messages, tools=[READ_FILE], options=greedy))
    assert [e.name for e in first if isinstance(e, ToolCall)] == ["read_file"]
    auto = greedy.model_copy(update={"extra": {"tool_choice": "auto"}})
    auto_events = list(loaded_backend.chat(str(smollm2), messages, tools=[READ_FILE], options=auto))
    assert not any(isinstance(e, ToolCall) for e in auto_events)  # SmolLM2 does not open a call itself
    after_result = [*messages, Message(role="tool", content="buy milk", name="read_file", tool_call_id="c1")]
    answer = list(loaded_backend.chat(str(smollm2), after_result, tools=[READ_FILE], options=greedy))
    assert not any(isinstance(e, ToolCall) for e in answer)  # "first": only the reply to the user is forced


def test_a_bad_tool_choice_is_one_clear_line(loaded_backend: GGUFBackend, smollm2: Path) -> None:
    options = ChatOptions(max_tokens=1, extra={"tool_choice": "sometimes"})
    with pytest.raises(BackendError, match=r"tool_choice option must be one of auto, first, required, got 'sometimes'"):
        list(
            loaded_backend.chat(str(smollm2), [Message(role="user", content="hi")], tools=[READ_FILE], options=options)
        )
    with pytest.raises(BackendError, match="gguf option tool_choice must be one of"):
        GGUFBackend({"tool_choice": "always"})


def test_the_default_depends_on_the_template_and_the_size(smollm2: Path) -> None:
    from dataclasses import replace

    from agentshell_chatformat import ChatTemplate
    from agentshell_gguf.metadata import read_metadata

    meta = read_metadata(smollm2)
    plain = ChatTemplate(meta.chat_template)
    with_tools = ChatTemplate(
        "{% for m in messages %}{{ m['content'] }}{% endfor %}"
        "{% if tools %}Call tools as <tool_call>{{ tools | tojson }}</tool_call>{% endif %}"
    )
    assert GGUFBackend.default_tool_choice(meta, plain) == "first"  # SmolLM2-135M: rarely calls on its own
    assert GGUFBackend.default_tool_choice(meta, with_tools) == "auto"
    assert GGUFBackend.default_tool_choice(replace(meta, parameter_count=7_000_000_000), plain) == "auto"


def test_a_template_that_thinks_declares_the_capability(smollm2: Path) -> None:
    from dataclasses import replace

    from agentshell_gguf.metadata import read_metadata

    backend = GGUFBackend({})
    meta = read_metadata(smollm2)
    assert "thinking" not in backend.describe(str(smollm2)).capabilities
    thinking = replace(meta, chat_template="{{ messages[0]['content'] }}<|im_start|>assistant\n<think>\n")
    assert "thinking" in backend._info(thinking).capabilities
