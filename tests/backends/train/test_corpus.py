"""The agent corpus: reproducible, split, and made of real tool results."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from agentshell_train.corpus import (
    KINDS,
    TOOL_KINDS,
    Conversation,
    conversation,
    encode_segments,
    generate,
    render,
    render_segments,
    write_corpus,
)
from agentshell_train.everyday import everyday_forms
from agentshell_train.names import DIRS, STEMS
from agentshell_train.noise import noisy_format
from agentshell_train.phrasings import PHRASES, SYSTEM_PROMPT, phrasings, split_pool


@pytest.fixture(scope="module")
def train_convs() -> list[Conversation]:
    return list(generate(1, 120))


def test_same_seed_same_corpus_any_worker_count(train_convs: list[Conversation]) -> None:
    assert [render(c) for c in generate(1, 30, workers=1)] == [render(c) for c in train_convs[:30]]
    assert render(conversation(1, 17)) == render(train_convs[17])
    assert [render(c) for c in generate(2, 10)] != [render(c) for c in train_convs[:10]]


def test_training_names_are_partly_invented_heldout_names_never() -> None:
    from agentshell_train.names import pick

    rng = random.Random(0)
    train = [pick(rng, STEMS, "train") for _ in range(400)]
    held = [pick(rng, STEMS, "heldout") for _ in range(400)]
    assert 200 < sum(n not in STEMS for n in train) < 340
    assert set(held) <= set(split_pool(STEMS, "heldout"))


def test_pools_split_without_overlap() -> None:
    for pool in (STEMS, DIRS):
        train, held = set(split_pool(pool, "train")), set(split_pool(pool, "heldout"))
        assert train and held and not train & held
    for kind in PHRASES:
        train, held = set(phrasings(kind, "train")), set(phrasings(kind, "heldout"))
        assert len(held) > 500 and len(train) > 3 * len(held) and not train & held
        assert train | held == set(PHRASES[kind])


def test_heldout_conversations_use_heldout_phrasings() -> None:
    for conv in generate(1, 40, "heldout", kinds=TOOL_KINDS):
        form = conv.turns[1].form
        assert form in phrasings(conv.kind, "heldout") + everyday_forms(conv.kind, "heldout"), form
        assert form not in phrasings(conv.kind, "train") + everyday_forms(conv.kind, "train"), form


def test_conversation_shape_and_arguments_copied_from_the_request(train_convs: list[Conversation]) -> None:
    kinds = {c.kind for c in train_convs}
    assert set(TOOL_KINDS) <= kinds <= set(KINDS)
    for conv in train_convs:
        assert conv.turns[0].content == SYSTEM_PROMPT
        if conv.kind not in TOOL_KINDS:
            continue
        user, call, result, answer = conv.turns[1:5]
        assert call.tool_call is not None and call.tool_call["name"] == conv.kind
        for value in call.tool_call["arguments"].values():
            # the workspace itself may be named in words ("list the current folder") instead of "."
            assert value in user.content or value == ".", (value, user.content)
        assert result.role == "tool" and answer.role == "assistant" and answer.content


def test_typing_noise_never_touches_the_arguments() -> None:
    rng = random.Random(5)
    for _ in range(500):
        values = {"path": "src/Foo_bar.py", "pattern": "launch code", "content": "Hello, wrld", "command": "echo hi"}
        text = noisy_format(rng, "please search for {pattern} in {path}, then run {command}: {content}", values)
        for value in values.values():
            assert value in text, text


def test_long_conversations_hold_many_requests_in_one_workspace() -> None:
    (conv,) = generate(3, 1, turns=6)
    assert sum(t.role == "user" for t in conv.turns) == 6
    assert conv.turns[0].content == SYSTEM_PROMPT


def test_tool_results_are_real(train_convs: list[Conversation]) -> None:
    seen = set()
    for conv in train_convs:
        _, call, result, answer = conv.turns[1:5] if conv.kind in TOOL_KINDS else (None,) * 4
        if call is None or call.tool_call is None:
            continue
        name = call.tool_call["name"]
        out = result.content
        if name == "read_file" and not out.startswith("error"):
            assert out.lstrip().startswith("1\t")  # agentshell's read_file numbers lines
            body = [line.split("\t", 1)[1] for line in out.splitlines()]
            assert answer.content.endswith("\n".join(body))  # the answer quotes the file
            seen.add(name)
        if name == "bash" and not out.startswith("error"):
            assert out.endswith("[exit code 0]") or "exit code" in out
            seen.add(name)
        if name == "list_dir" and not out.startswith("error"):
            assert answer.content.endswith(out)
            seen.add(name)
    assert {"read_file", "bash", "list_dir"} <= seen


def test_only_assistant_text_is_trained(train_convs: list[Conversation]) -> None:
    conv = next(c for c in train_convs if c.kind == "read_file")
    segments = render_segments(conv)
    trained = "".join(t for t, w in segments if w)
    assert "<tool_call>" in trained and "<tool_response>" not in trained and SYSTEM_PROMPT not in trained
    ids, weights = encode_segments(segments, lambda s: list(s.encode()))
    assert len(ids) == len(weights) == len(render(conv).encode())


def test_write_corpus_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    assert write_corpus(path, seed=3, count=5) == 5
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 5
    assert all(isinstance(s[0], str) and isinstance(s[1], bool) for x in lines for s in x["segments"])
