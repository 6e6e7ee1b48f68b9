"""The gguf turn recovers calls a model writes without the tags (bare JSON, Qwen XML), through the real run_turn.

A scripted engine stands in for llama.cpp: it "generates" a fixed text, cut into
tokens at chosen places, so every field report of tests/fixtures/toolcall_text
goes through the same stop scanner, think splitter, tag parser and recovery a
real model's tokens go through.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from agentshell_gguf.generation import Sampling, Turn, run_turn
from hypothesis import given, settings
from hypothesis import strategies as st

from agentshell.protocol import Done, Notice, TextDelta, ToolCall, ToolSpec
from tests.backends.chatformat.toolcall_fixtures import FieldCase, field_cases, ordinary_answers, ordinary_tools

FIELD = field_cases()
EOG = -1


class ScriptedEngine:
    """The parts of llama_cpp.Llama run_turn uses: each token is a piece of the scripted text."""

    def __init__(self, pieces: Sequence[str]) -> None:
        self.pieces = [p.encode("utf-8") for p in pieces if p]
        self._model = SimpleNamespace(vocab=object())

    def generate(self, tokens: list[int], **_: Any) -> Iterator[int]:
        yield from range(len(self.pieces))
        yield EOG

    def detokenize(self, tokens: list[int]) -> bytes:
        return b"".join(self.pieces[t] for t in tokens)


LLAMA_CPP: Any = SimpleNamespace(llama_vocab_is_eog=lambda vocab, token: token == EOG)


def turn(pieces: Sequence[str], tools: Sequence[ToolSpec], debug: bool = False) -> list[Any]:
    engine = ScriptedEngine(pieces)
    spec = Turn(
        llm=engine,
        prompt_tokens=[],
        stops=("<|im_end|>",),
        sampling=Sampling(),
        max_tokens=10_000,
        parse_tools=True,
        grammar=None,
        started=0.0,
        tools=tuple(tools),
        debug=debug,
    )
    return list(run_turn(LLAMA_CPP, spec))


def outcome(events: list[Any]) -> tuple[list[tuple[str, dict[str, Any]]], str, str]:
    done = events[-1]
    assert isinstance(done, Done)
    calls = [(e.name, e.arguments) for e in events if isinstance(e, ToolCall)]
    return calls, "".join(e.text for e in events if isinstance(e, TextDelta)), done.stop_reason


@pytest.mark.parametrize("case", FIELD, ids=lambda c: c.name)
def test_field_report_as_generated_tokens(case: FieldCase) -> None:
    calls, text, stop = outcome(turn(list(case.text), case.tools))
    assert calls == case.calls and stop == "tool_calls"
    # Between calls the gguf turn drops blank text, as it always did for tagged calls.
    assert text.strip() == case.shown.strip() or text == case.shown


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(FIELD), st.lists(st.integers(min_value=0, max_value=400), max_size=10))
def test_field_report_under_any_tokenization(case: FieldCase, cuts: list[int]) -> None:
    points = sorted({min(c, len(case.text)) for c in cuts})
    pieces = [case.text[a:b] for a, b in zip([0, *points], [*points, len(case.text)], strict=True)]
    calls, _, stop = outcome(turn(pieces, case.tools))
    assert calls == case.calls and stop == "tool_calls"


# A tagged call is this backend's own format: its parser reads it whatever the name, and the agent answers
# "unknown tool" to the model. Every other ordinary answer stays text here too.
ORDINARY = [(n, t) for n, t in ordinary_answers() if not t.startswith("<tool_call>")]


@pytest.mark.parametrize(("name", "text"), ORDINARY, ids=[n for n, _ in ORDINARY])
def test_ordinary_answer_stays_text(name: str, text: str) -> None:
    calls, shown, stop = outcome(turn(list(text), ordinary_tools()))
    assert (calls, shown, stop) == ([], text, "stop")


def test_debug_says_a_call_was_recovered() -> None:
    case = next(c for c in FIELD if c.name == "mcphost-12.txt")
    events = turn([case.text], case.tools, debug=True)
    assert [e.text for e in events if isinstance(e, Notice)] == [
        "recovered 1 tool call from text: filesystem__list_directory"
    ]
    assert not any(isinstance(e, Notice) for e in turn([case.text], case.tools))
