"""The scripted backend: what tests, benchmarks and users' dry runs stand on."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from agentshell.protocol import (
    BackendError,
    BackendUnavailable,
    ChatOptions,
    Done,
    Message,
    ModelNotFound,
    TextDelta,
    ToolCall,
)
from agentshell.testing.scripted import ScriptedBackend

OPTIONS = ChatOptions()
HELLO = [Message(role="user", content="hi")]


def play(backend: ScriptedBackend, model: str = "m") -> list[object]:
    return list(backend.chat(model, HELLO, options=OPTIONS))


def test_responses_play_in_order_and_end_with_done() -> None:
    backend = ScriptedBackend(
        {
            "responses": [
                [{"type": "text", "text": "a"}],
                [{"type": "tool_call", "id": "1", "name": "bash", "arguments": {}}],
            ]
        }
    )
    assert play(backend) == [TextDelta(text="a"), Done(stop_reason="stop")]
    assert play(backend) == [ToolCall(id="1", name="bash"), Done(stop_reason="tool_calls")]
    with pytest.raises(BackendError, match="no responses left"):
        play(backend)
    assert [r.messages for r in backend.requests] == [tuple(HELLO)] * 3


def test_explicit_done_ends_the_response() -> None:
    backend = ScriptedBackend(
        {"responses": [[{"type": "done", "stop_reason": "length"}, {"type": "text", "text": "x"}]]}
    )
    assert play(backend) == [Done(stop_reason="length")]


def test_sleep_and_raise() -> None:
    backend = ScriptedBackend(
        {
            "responses": [
                [
                    {"type": "sleep", "seconds": 0.05},
                    {"type": "raise", "error": "BackendUnavailable", "message": "down", "hint": "start it"},
                ]
            ]
        }
    )
    start = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        play(backend)
    assert time.monotonic() - start >= 0.05 and str(info.value) == "down (start it)"


def test_file_scripts_are_per_model_string(tmp_path: Path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    one.write_text(json.dumps({"context_length": 1234, "responses": [[{"type": "text", "text": "one"}]]}))
    two.write_text(json.dumps([[{"type": "text", "text": "two"}]]))
    backend = ScriptedBackend({})
    assert backend.describe(str(one)).context_length == 1234
    assert play(backend, str(two))[0] == TextDelta(text="two")
    assert play(backend, str(one))[0] == TextDelta(text="one")
    assert {m.name for m in backend.list_models()} == {str(one), str(two)}
    assert not backend.claims("anything") and not backend.claims(str(one))


@pytest.mark.parametrize(
    ("content", "error", "match"),
    [
        (None, ModelNotFound, "no script file"),
        ("{not json", BackendError, "cannot read script"),
        ('{"responses": 3}', BackendError, "not a scripted conversation"),
        ('[[{"type": "text"}]]', BackendError, "response 1 event 1"),
        ('[[{"type": "raise", "error": "NoSuchError"}]]', BackendError, "unknown error"),
    ],
)
def test_bad_scripts_are_one_clear_line(
    tmp_path: Path, content: str | None, error: type[Exception], match: str
) -> None:
    path = tmp_path / "s.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(error, match=match) as info:
        play(ScriptedBackend({}), str(path))
    assert "\n" not in str(info.value)


def test_factory_hands_out_one_instance() -> None:
    factory = ScriptedBackend.factory([[TextDelta(text="hi")]], context_length=99)
    backend = factory({})
    assert factory({"debug": True}) is backend
    assert backend.describe("x").context_length == 99
    assert play(backend)[0] == TextDelta(text="hi")
