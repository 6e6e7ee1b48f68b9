"""Context keeping: counting, calibration, compaction, overflow, and the invariants compaction must keep."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agentshell.loop.context import (
    SUMMARY_HEADER,
    ContextKeeper,
    estimate,
    render_transcript,
    safe_cuts,
    summary_message,
    summary_request,
)
from agentshell.protocol import (
    ChatOptions,
    ContextOverflow,
    Event,
    Message,
    ModelInfo,
    TokenCounter,
    ToolCallRequest,
    ToolSpec,
)


class _BaseFake:
    name = "fake"

    def claims(self, model: str) -> bool:
        return True

    def list_models(self) -> list[ModelInfo]:
        return []

    def describe(self, model: str) -> ModelInfo:
        return ModelInfo(name=model, backend=self.name)

    def chat(
        self, model: str, messages: Sequence[Message], *, tools: Sequence[ToolSpec] = (), options: ChatOptions
    ) -> Iterator[Event]:
        raise AssertionError("fit never chats; summarize is the loop's job")


class WordCounter(_BaseFake):
    """Exact counting, the way gguf/builtin do it, with words as tokens: easy to reason about in tests."""

    def __init__(self) -> None:
        self.calls = 0

    def count_tokens(self, model: str, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
        self.calls += 1
        total = sum(3 + len(m.content.split()) + 5 * len(m.tool_calls) for m in messages)
        return total + 10 * len(tools)


class ServerBackend(_BaseFake):
    """No tokenizer (Ollama, OpenAI-compatible): the keeper must estimate."""


SYSTEM = Message(role="system", content="You are a coding agent.")
TOOLS = [ToolSpec(name="read_file", description="read", parameters={"type": "object"})]


def words(n: int, tag: str = "w") -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def tool_round(i: int, out_words: int) -> list[Message]:
    call = ToolCallRequest(id=f"c{i}", name="read_file", arguments={"path": f"f{i}.py"})
    return [
        Message(role="assistant", content="", tool_calls=(call,)),
        Message(role="tool", content=words(out_words, f"o{i}_"), tool_call_id=f"c{i}", name="read_file"),
    ]


class Summarizer:
    def __init__(self, text: str = "the user asked for things; files were read") -> None:
        self.inputs: list[list[Message]] = []
        self.text = text

    def __call__(self, messages: Sequence[Message]) -> str:
        self.inputs.append(list(messages))
        return self.text


def test_word_counter_is_a_token_counter() -> None:
    assert isinstance(WordCounter(), TokenCounter)
    assert not isinstance(ServerBackend(), TokenCounter)


def test_below_threshold_nothing_changes_and_summarize_is_not_called() -> None:
    msgs = [SYSTEM, Message(role="user", content=words(10)), Message(role="assistant", content=words(10))]
    keeper, summarize = ContextKeeper(100), Summarizer()
    result = keeper.fit(WordCounter(), "m", msgs, [], summarize=summarize)
    assert result.messages == msgs and not result.compacted and result.note is None
    assert result.tokens == 3 * 3 + 5 + 10 + 10 and keeper.exact
    assert summarize.inputs == []
    assert keeper.share(result.tokens) == pytest.approx(0.34)
    assert ContextKeeper(None).share(10) is None


def test_old_tool_outputs_are_shortened_first_and_latest_round_is_untouched() -> None:
    msgs = [SYSTEM, Message(role="user", content="read everything"), *tool_round(1, 2000), *tool_round(2, 2000)]
    keeper, summarize = ContextKeeper(4000), Summarizer()
    result = keeper.fit(WordCounter(), "m", msgs, [], summarize=summarize)
    assert result.compacted and result.note is not None and "shortened 1 old tool output" in result.note
    assert summarize.inputs == []
    assert "removed to save context" in result.messages[3].content
    assert result.messages[5] == msgs[5]  # the round the model is about to read stays whole
    assert result.tokens <= 0.8 * 4000


def test_older_turns_are_summarized_keeping_system_and_recent_turns() -> None:
    msgs = [SYSTEM]
    for t in range(8):
        msgs += [Message(role="user", content=f"request {t} " + words(40))]
        msgs += [Message(role="assistant", content=words(40))]
    keeper, summarize = ContextKeeper(600), Summarizer()
    result = keeper.fit(WordCounter(), "m", msgs, [], summarize=summarize)
    assert result.compacted and result.note is not None and "summarized" in result.note
    assert result.messages[0] == SYSTEM
    assert result.messages[1].role == "user" and result.messages[1].content.startswith(SUMMARY_HEADER)
    assert result.messages[-2:] == msgs[-2:]
    assert result.tokens <= 0.8 * 600
    assert summarize.inputs and summarize.inputs[0][0] == msgs[1]


def test_latest_request_is_kept_even_when_its_own_tool_rounds_must_be_summarized() -> None:
    request = Message(role="user", content="fix the bug in parser.py")
    msgs = [SYSTEM, request]
    for i in range(12):
        msgs += tool_round(i, 60)
    keeper = ContextKeeper(700)
    result = keeper.fit(WordCounter(), "m", msgs, [], summarize=Summarizer())
    assert result.messages[0] == SYSTEM and result.messages[1].content.startswith(SUMMARY_HEADER)
    assert result.messages[2] == request
    assert result.messages[-2:] == msgs[-2:]
    _assert_pairs_intact(result.messages)


def test_request_larger_than_the_window_is_never_sent() -> None:
    msgs = [SYSTEM, Message(role="user", content=words(5000))]
    with pytest.raises(ContextOverflow, match=r"needs 5,\d+ tokens but m's context window is 1,000") as err:
        ContextKeeper(1000).fit(WordCounter(), "m", msgs, [], summarize=Summarizer())
    assert "/clear" in str(err.value)


def test_force_compacts_below_threshold_and_keeps_the_last_turn() -> None:
    msgs = [SYSTEM]
    for t in range(3):
        older = " " + words(30) if t < 2 else ""  # long enough for a summary to save something
        msgs += [Message(role="user", content=f"q{t}{older}"), Message(role="assistant", content=f"a{t}{older}")]
    for window in (10_000, None):
        summarize = Summarizer()
        result = ContextKeeper(window).fit(WordCounter(), "m", msgs, [], summarize=summarize, force=True)
        assert result.compacted and [m.content for m in result.messages[2:]] == ["q2", "a2"]
        assert summarize.inputs == [msgs[1:5]]
    nothing = ContextKeeper(None).fit(WordCounter(), "m", msgs[:3], [], summarize=Summarizer(), force=True)
    assert not nothing.compacted and nothing.note == "nothing to compact yet"


def test_a_summary_that_saves_nothing_is_not_claimed_as_a_saving() -> None:
    """/compact on a short conversation once said "summarized 1 older message (379 → 379 tokens)"."""
    msgs = [SYSTEM, Message(role="user", content="q0"), Message(role="assistant", content="a0")]
    msgs += [Message(role="user", content="q1"), Message(role="assistant", content="a1")]
    long_summary = Summarizer(text=words(40))  # longer than the two short messages it replaces
    result = ContextKeeper(10_000).fit(WordCounter(), "m", msgs, [], summarize=long_summary, force=True)
    assert not result.compacted and result.messages == msgs
    assert result.note is not None and result.note.startswith("nothing to compact: a summary would not be shorter (")
    assert "→" not in result.note


def test_unknown_window_never_compacts_on_its_own() -> None:
    msgs = [SYSTEM, Message(role="user", content=words(100_000))]
    result = ContextKeeper(None).fit(WordCounter(), "m", msgs, [], summarize=Summarizer())
    assert result.messages == msgs and not result.compacted


def test_region_larger_than_the_window_is_summarized_in_chunks_that_fit() -> None:
    msgs = [SYSTEM]
    for _ in range(30):
        msgs += [Message(role="user", content=words(150)), Message(role="assistant", content=words(150))]
    window = 1200
    summarize = Summarizer()
    result = ContextKeeper(window).fit(WordCounter(), "m", msgs, [], summarize=summarize)
    assert len(summarize.inputs) > 1
    for i, chunk in enumerate(summarize.inputs):
        assert WordCounter().count_tokens("m", chunk) <= window
        if i:
            assert chunk[0].content.startswith(SUMMARY_HEADER)  # the summary so far is carried forward
    assert result.tokens <= 0.8 * window


def test_empty_summary_falls_back_to_a_note_not_silence() -> None:
    msgs = [SYSTEM]
    for _ in range(6):
        msgs += [Message(role="user", content=words(50)), Message(role="assistant", content=words(50))]
    result = ContextKeeper(400).fit(WordCounter(), "m", msgs, [], summarize=Summarizer(text="  "))
    assert "earlier messages were removed" in result.messages[1].content


def test_estimate_is_calibrated_by_server_reported_counts() -> None:
    keeper = ContextKeeper(10_000)
    backend = ServerBackend()
    msgs = [SYSTEM, Message(role="user", content="x" * 700)]
    raw = keeper.count(backend, "m", msgs, TOOLS)
    assert not keeper.exact and raw == pytest.approx(estimate(msgs, TOOLS), abs=1)
    keeper.observe(2 * raw, msgs, TOOLS)
    assert keeper.count(backend, "m", msgs, TOOLS) == 2 * raw  # what the server said, exactly
    longer = [*msgs, Message(role="assistant", content="y" * 350)]
    added = estimate(longer[2:])
    assert keeper.count(backend, "m", longer, TOOLS) == pytest.approx(2 * raw + 2 * added, abs=1)
    other = [SYSTEM, Message(role="user", content="z" * 700)]  # not a continuation: scaled estimate only
    assert keeper.count(backend, "m", other, TOOLS) == pytest.approx(2 * estimate(other, TOOLS), abs=1)


def test_a_cached_prefix_report_does_not_make_the_estimate_optimistic() -> None:
    keeper = ContextKeeper(10_000)
    msgs = [SYSTEM, Message(role="user", content="x" * 7000)]
    before = keeper.count(ServerBackend(), "m", msgs, [])
    keeper.observe(12, msgs, [])  # Ollama evaluated only the uncached tail
    assert keeper.count(ServerBackend(), "m", msgs, []) == before


def test_server_backend_overflow_uses_the_estimate() -> None:
    msgs = [SYSTEM, Message(role="user", content="word " * 20_000)]
    with pytest.raises(ContextOverflow):
        ContextKeeper(8192).fit(ServerBackend(), "qwen3", msgs, TOOLS, summarize=Summarizer())


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError):
        ContextKeeper(0)
    with pytest.raises(ValueError):
        ContextKeeper(100, threshold=1.5)


def test_summary_request_is_plain_text_any_model_can_answer() -> None:
    msgs = [Message(role="user", content="hi"), *tool_round(1, 3)]
    request = summary_request(msgs)
    assert [m.role for m in request] == ["system", "user"]
    assert all(not m.tool_calls and m.role != "tool" for m in request)
    text = render_transcript(msgs)
    assert "[calls read_file" in text and "TOOL RESULT (read_file)" in text and "o1_2" in text


def test_safe_cuts_never_split_a_call_from_its_results() -> None:
    call = (ToolCallRequest(id="a", name="t"), ToolCallRequest(id="b", name="t"))
    msgs = [
        Message(role="user", content="u"),
        Message(role="assistant", tool_calls=call),
        Message(role="tool", content="1", tool_call_id="a"),
        Message(role="tool", content="2", tool_call_id="b"),
        Message(role="assistant", content="done"),
    ]
    assert safe_cuts(msgs) == {0, 1, 4, 5}


# --------------------------------------------------------------------------- property: invariants of compaction


def _assert_pairs_intact(messages: Sequence[Message]) -> None:
    calls: dict[str, int] = {}
    answered: set[str] = set()
    for i, m in enumerate(messages):
        for c in m.tool_calls:
            calls[c.id] = i
        if m.role == "tool":
            assert m.tool_call_id in calls, f"tool result {m.tool_call_id} without its call"
            assert messages[i - 1].role in ("assistant", "tool")
            answered.add(m.tool_call_id)
    for cid in calls:
        assert cid in answered, f"tool call {cid} lost its result"


@st.composite
def conversations(draw: Any) -> list[Message]:
    msgs = [Message(role="system", content=words(draw(st.integers(1, 30)), "s"))]
    counter = 0
    for t in range(draw(st.integers(1, 8))):
        msgs.append(Message(role="user", content=f"turn{t} " + words(draw(st.integers(0, 80)), f"u{t}_")))
        for _ in range(draw(st.integers(0, 4))):
            ids = [f"t{counter + k}" for k in range(draw(st.integers(1, 3)))]
            counter += len(ids)
            msgs.append(Message(role="assistant", tool_calls=tuple(ToolCallRequest(id=i, name="bash") for i in ids)))
            for i in ids:
                msgs.append(Message(role="tool", content=words(draw(st.integers(0, 400)), i), tool_call_id=i))
        if draw(st.booleans()):
            msgs.append(Message(role="assistant", content=words(draw(st.integers(1, 60)), "a")))
    return msgs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgs=conversations(), window=st.integers(100, 4000), force=st.booleans(), exact=st.booleans())
def test_compaction_keeps_system_prompt_recent_turns_and_tool_pairs(
    msgs: list[Message], window: int, force: bool, exact: bool
) -> None:
    backend = WordCounter() if exact else ServerBackend()
    keeper = ContextKeeper(window)
    summarize = Summarizer()
    try:
        result = keeper.fit(backend, "m", msgs, [], summarize=summarize, force=force)
    except ContextOverflow:
        # Only when even the least that must stay verbatim does not fit.
        event("overflow")
        last_user = max(i for i, m in enumerate(msgs) if m.role == "user")
        last_block = max(c for c in safe_cuts(msgs) if c < len(msgs))
        least = [msgs[0], summary_message(summarize.text), *([msgs[last_user]] if last_user < last_block else [])]
        assert keeper.count(backend, "m", [*least, *msgs[last_block:]], []) > window
        return
    event("compacted" if result.compacted else "unchanged")
    out = result.messages
    assert out[0] == msgs[0]  # system prompt, verbatim
    assert result.tokens <= window
    assert result.tokens == keeper.count(backend, "m", out, [])
    last_user = next(m for m in reversed(msgs) if m.role == "user")
    assert last_user in out  # the current request, verbatim
    # The most recent block (last message, with the tool call it answers) is kept verbatim.
    assert out[-1] == msgs[-1] or (msgs[-1].role == "tool" and out[-1].content.startswith(msgs[-1].content[:100]))
    _assert_pairs_intact(out)
    for chunk in summarize.inputs:
        _assert_pairs_intact([m for m in chunk if not m.content.startswith(SUMMARY_HEADER)])
    if not result.compacted:
        assert out == msgs


def test_a_failing_tokenizer_falls_back_to_the_estimate() -> None:
    class Broken(WordCounter):
        def count_tokens(self, model: str, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int:
            raise ValueError("template error")

    keeper = ContextKeeper(1000)
    msgs = [SYSTEM, Message(role="user", content="x" * 350)]
    assert keeper.count(Broken(), "m", msgs, []) == keeper.count(ServerBackend(), "m", msgs, [])
    assert not keeper.exact
