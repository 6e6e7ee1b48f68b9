"""``<think>…</think>`` split from the answer while streaming, for any chunking."""

from __future__ import annotations

from agentshell_chatformat import ThinkSplitter, prompt_opens_thinking
from hypothesis import given, settings
from hypothesis import strategies as st

from agentshell.protocol import TextDelta, ThinkingDelta
from tests.backends.chatformat.chunked_streams import chunked_streams


def split(chunks: list[str], *, opened: bool = False) -> tuple[str, str]:
    """(thinking, answer), each concatenated."""
    splitter = ThinkSplitter(opened=opened)
    events: list[TextDelta | ThinkingDelta] = []
    for chunk in chunks:
        events.extend(splitter.feed(chunk))
    events.extend(splitter.finish())
    assert all(e.text for e in events)  # no empty deltas
    thinking = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    return thinking, answer


def test_qwen3_style_reply() -> None:
    reply = "<think>\nThe user greets me.\n\nI greet back.\n</think>\n\nHello!"
    assert split([reply]) == ("The user greets me.\n\nI greet back.", "Hello!")


def test_prompt_that_preopens_thinking() -> None:
    assert prompt_opens_thinking("<|im_start|>assistant\n<think>\n")
    assert not prompt_opens_thinking("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert split(["Let me see.\n</think>\n\nIt is 4."], opened=True) == ("Let me see.", "It is 4.")


def test_no_thinking_passes_through_unchanged() -> None:
    assert split(["  Hello <think>x</think>"]) == ("", "  Hello <think>x</think>")
    assert split(["\n<thi"]) == ("", "\n<thi")
    assert split([""]) == ("", "")


def test_tags_after_the_thinking_are_answer_text() -> None:
    reply = "<think>a</think>Use <think> tags like <think>this</think>."
    assert split([reply]) == ("a", "Use <think> tags like <think>this</think>.")


def test_reply_cut_while_thinking_keeps_the_thinking() -> None:
    assert split(["<think>\nStill going  \n"]) == ("Still going", "")


def test_thinking_streams_before_the_block_ends() -> None:
    splitter = ThinkSplitter()
    events = splitter.feed("<think>one two ") + splitter.feed("three")
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "one two three"
    assert splitter.thinking


def test_tool_call_markup_inside_thinking_stays_thinking() -> None:
    reply = '<think>maybe <tool_call>{"name": "ls"}</tool_call>?</think>No call.'
    assert split([reply]) == ('maybe <tool_call>{"name": "ls"}</tool_call>?', "No call.")


_PIECES = st.sampled_from(
    ["<think>", "</think>", "<th", "</thi", "<", "\n", "  ", "word ", "é😀", "<tool_call>", "think", ">"]
)


@settings(max_examples=400, deadline=None)
@given(chunked_streams(_PIECES), st.booleans())
def test_any_chunking_gives_the_same_result(case: tuple[str, list[str]], opened: bool) -> None:
    source, chunks = case
    whole = split([source], opened=opened)
    assert split(chunks, opened=opened) == whole
    assert split(list(source), opened=opened) == whole
    if not opened and not source.lstrip().startswith("<think>"):
        assert whole == ("", source)
