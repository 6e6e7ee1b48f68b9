"""The stream-json writer: its fast path for deltas writes exactly what the schema models would."""

from __future__ import annotations

import io

import pytest

from agentshell.api.events import TextEvent, ThinkingEvent, event_adapter
from agentshell.cli.jsonout import StreamJsonWriter, dump_redacted
from agentshell.protocol import TextDelta, ThinkingDelta


@pytest.mark.parametrize("text", ["plain", 'quotes " and \\ backslash', "ünïcödé ✓ \n newline", ""])
def test_delta_lines_match_the_models(text: str) -> None:
    out = io.StringIO()
    writer = StreamJsonWriter(out)
    writer.on_event(TextDelta(text=text))
    writer.on_event(ThinkingDelta(text=text))
    lines = out.getvalue().splitlines()
    assert lines == [dump_redacted(TextEvent(text=text)), dump_redacted(ThinkingEvent(text=text))]
    assert event_adapter().validate_json(lines[0]) == TextEvent(text=text)


def test_secrets_in_deltas_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_API_KEY", "sk-test-0123456789abcdef")
    out = io.StringIO()
    StreamJsonWriter(out).on_event(TextDelta(text="the key is sk-test-0123456789abcdef, see"))
    assert "sk-test-0123456789abcdef" not in out.getvalue() and "REDACTED" in out.getvalue()
