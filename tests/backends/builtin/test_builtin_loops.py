"""The loop guard ends greedy replies that have become one block repeated, and nothing else."""

from __future__ import annotations

import random

from agentshell_builtin import BuiltinBackend
from agentshell_builtin.loops import MIN_REPEATS, MIN_TOKENS, LoopGuard

from agentshell.protocol import ChatOptions, Done, MalformedToolCall, Message, Notice


def first_stop(tokens: list[int], guard: LoopGuard | None = None) -> int | None:
    """How many tokens were fed when the guard fired, or None."""
    guard = guard or LoopGuard()
    for i, t in enumerate(tokens, 1):
        if guard.feed(t):
            return i
    return None


def test_a_block_repeated_back_to_back_is_stopped() -> None:
    block = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16]  # 10 tokens: six copies make 60 >= MIN_TOKENS
    stopped = first_stop([1, 2, 3] + block * 20)
    assert stopped == 3 + 10 * MIN_REPEATS
    guard = LoopGuard()
    first_stop(block * 20, guard)
    assert guard.period == 10


def test_a_short_period_needs_min_tokens_of_repetition() -> None:
    assert first_stop([5] * (MIN_TOKENS - 1)) is None
    assert first_stop([5] * 200) == MIN_TOKENS
    assert first_stop([4, 5] * 100) == MIN_TOKENS


def test_fewer_copies_are_left_alone() -> None:
    block = list(range(100, 120))  # 20 tokens
    tokens = [1] + block * (MIN_REPEATS - 1) + [2] + block * (MIN_REPEATS - 1) + [3]
    assert first_stop(tokens) is None


def test_varied_text_is_never_stopped() -> None:
    rng = random.Random(0)
    tokens = [rng.randrange(50) for _ in range(5000)]  # a small alphabet repeats pairs often, never a long block
    assert first_stop(tokens) is None


def test_the_backend_stops_a_looping_reply_and_says_so() -> None:
    """The shipped model loops on this content to write (see models/README.md); the guard ends it unless turned off."""
    messages = [
        Message(
            role="system", content="You are agentshell, a coding agent. Use the tools to work with files and commands."
        ),
        Message(role="user", content="Could you save Tiger desert into a new file pkg/audio.py thanks"),
    ]
    options = ChatOptions(max_tokens=600)
    free = list(BuiltinBackend({"threads": 1, "stop_loops": False}).chat("builtin", messages, options=options))
    guarded = list(BuiltinBackend({"threads": 1}).chat("builtin", messages, options=options))
    free_done, guarded_done = free[-1], guarded[-1]
    assert isinstance(free_done, Done) and isinstance(guarded_done, Done)
    assert free_done.usage.completion_tokens == 600, "the shipped model no longer loops here: pick another request"
    warnings = [e for e in guarded if isinstance(e, Notice) and e.level == "warning"]
    assert len(warnings) == 1 and "repeating" in warnings[0].text
    assert guarded_done.usage.completion_tokens < 200
    assert guarded_done.stop_reason == "length"
    assert isinstance(guarded[-2], MalformedToolCall)  # the cut call is reported as malformed, never run
