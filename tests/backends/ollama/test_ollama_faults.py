"""Stream faults against a real socket: cut, stall, slow first byte, errors after text, early close."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from agentshell_ollama import OllamaBackend
from agentshell_ollama_fake_server import Reply

from agentshell.protocol import BackendError, BackendFailure, ChatOptions, Done, Event, Message, Notice, TextDelta

USER = [Message(role="user", content="hi")]


def token(text: str) -> dict[str, Any]:
    return {"model": "m", "message": {"role": "assistant", "content": text}, "done": False}


FINAL = {"model": "m", "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop"}
TOKENS = [token("one"), token(" two"), token(" three")]


def collect(backend: OllamaBackend, model: str = "llama3.2") -> tuple[list[Event], BackendFailure | None]:
    """Events seen before the failure, as the agent sees them: the partial answer survives."""
    events: list[Event] = []
    try:
        for event in backend.chat(model, USER, options=ChatOptions()):
            events.append(event)
    except BackendFailure as failure:
        return events, failure
    return events, None


def text(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_whole_answer_over_a_socket(make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    fake.script("POST", "/api/chat", Reply(lines=[*TOKENS, FINAL]))
    backend = make_backend(host=fake.url)
    for _ in range(2):  # the second request reuses the connection the first one finished cleanly
        events, failure = collect(backend)
        assert failure is None and text(events) == "one two three" and isinstance(events[-1], Done)
    assert fake.bodies("/api/chat")[0]["options"] == {"num_ctx": 8192}


def test_cut_stream_keeps_the_partial_answer(make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    fake.script("POST", "/api/chat", Reply(lines=[*TOKENS, FINAL], cut_after=2))
    events, failure = collect(make_backend(host=fake.url))
    assert text(events) == "one two"
    assert isinstance(failure, BackendError)
    assert str(failure).startswith("the connection to Ollama was cut before the answer finished")
    assert len(fake.bodies("/api/chat")) == 1  # never retried once tokens were shown


def test_stream_that_ends_without_done(make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    fake.script("POST", "/api/chat", Reply(lines=TOKENS))
    events, failure = collect(make_backend(host=fake.url))
    assert text(events) == "one two three"
    assert failure is not None and str(failure).startswith("the answer from Ollama stopped before it finished")


def test_stall_mid_stream_hits_the_idle_timeout(make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    fake.script("POST", "/api/chat", Reply(lines=[*TOKENS, FINAL], stall_after=1, stall_seconds=30))
    events, failure = collect(make_backend(host=fake.url, idle_timeout=0.4))  # only the idle timeout ends a 30 s stall
    assert text(events) == "one"
    assert failure is not None and str(failure) == (
        "Ollama sent nothing for 0.4 s in the middle of the answer (retry; raise idle_timeout if the machine is busy)"
    )


def test_slow_first_byte_says_loading(make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    fake.script("POST", "/api/chat", Reply(lines=[*TOKENS, FINAL], first_byte_delay=0.8))
    events, failure = collect(make_backend(host=fake.url, loading_notice_after=0.2, idle_timeout=0.3))
    assert failure is None
    assert events[0] == Notice(level="loading", text="loading model…")
    assert text(events) == "one two three"  # a cold load longer than idle_timeout is fine
    done = events[-1]
    assert isinstance(done, Done) and done.timings.first_token_ms is not None and done.timings.first_token_ms >= 700


def test_no_first_token_in_time(make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    fake.script("POST", "/api/chat", Reply(lines=[FINAL], first_byte_delay=30))
    events, failure = collect(make_backend(host=fake.url, first_token_timeout=0.6, loading_notice_after=0.2))
    assert events == [Notice(level="loading", text="loading model…")]
    assert failure is not None and str(failure).startswith("llama3.2 sent no answer within 0.6 s")


def test_error_line_mid_stream(make_backend: Callable[..., OllamaBackend], fake: Any, wire: Any) -> None:
    fake.script("POST", "/api/chat", Reply(lines=wire.lines("errors/200-chat-stream-mid-stream-error.ndjson")))
    events, failure = collect(make_backend(host=fake.url))
    assert text(events) == " Yes.Ican"
    assert isinstance(failure, BackendError)
    assert str(failure) == "Ollama stopped with an error: an error was encountered while running the model (retry)"


def test_malformed_line(make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    fake.script("POST", "/api/chat", Reply(lines=[token("ok"), "<html>proxy error</html>", FINAL]))
    events, failure = collect(make_backend(host=fake.url))
    assert text(events) == "ok"
    assert failure is not None and str(failure).startswith(
        "Ollama sent a line that is not JSON: <html>proxy error</html>"
    )


def test_server_error_then_success_over_a_socket(make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    fake.script(
        "POST",
        "/api/chat",
        Reply(status=503, body={"error": "server busy, please try again.  maximum pending requests exceeded"}),
        Reply(lines=[*TOKENS, FINAL]),
    )
    events, failure = collect(make_backend(host=fake.url))
    assert failure is None and text(events) == "one two three"
    assert len(fake.bodies("/api/chat")) == 2


def test_closing_the_stream_stops_reading(make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    """Ctrl-C: the agent closes the generator; the reader thread must not linger on a stalled socket."""
    fake.script("POST", "/api/chat", Reply(lines=[*TOKENS, FINAL], stall_after=1, stall_seconds=30))

    def readers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "ollama-stream"}

    before = readers()  # threads of earlier tests may still be finishing
    stream = make_backend(host=fake.url, idle_timeout=30).chat("llama3.2", USER, options=ChatOptions())
    assert next(stream) == TextDelta(text="one")
    ours = readers() - before
    assert len(ours) == 1
    stream.close()
    reader = ours.pop()
    reader.join(timeout=3)
    assert not reader.is_alive()


@pytest.mark.parametrize("host_form", ["{host}:{port}", "http://{host}:{port}/"])
def test_host_forms_reach_the_server(host_form: str, make_backend: Callable[..., OllamaBackend], fake: Any) -> None:
    fake.script("POST", "/api/chat", Reply(lines=[*TOKENS, FINAL]))
    host, port = fake.server_address[:2]
    events, failure = collect(make_backend(host=host_form.format(host=host, port=port)))
    assert failure is None and text(events) == "one two three"
