"""Separating a reasoning model's ``<think>…</think>`` from its answer, while streaming.

Reasoning models in the Qwen3 / DeepSeek-R1 style start their reply with
``<think>``, reason, write ``</think>`` and then answer. Some chat templates
write the opening tag into the generation prompt themselves, so the reply
starts inside the thinking (``opened=True``). :class:`ThinkSplitter` turns the
stream into :class:`ThinkingDelta` and :class:`TextDelta` events:

* Only a ``<think>`` at the very start of the reply (after whitespace) opens
  thinking; one anywhere else is text, as is everything after ``</think>``
  (a model quoting the tags in its answer is not thinking).
* The whitespace around the thinking and at the start of the answer is
  dropped (templates put newlines there); whitespace inside is kept.
* A reply cut while still thinking gives its thinking and no answer.
* The concatenated thinking and the concatenated text do not depend on how
  the stream was chunked; text is held back only while it could still be
  (the start of) a tag or whitespace that may turn out to be trailing.
"""

from __future__ import annotations

from agentshell.protocol import TextDelta, ThinkingDelta

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

SplitEvent = TextDelta | ThinkingDelta


def _partial_suffix(buf: str, token: str) -> int:
    """Length of the longest suffix of ``buf`` that is a proper prefix of ``token``."""
    for k in range(min(len(buf), len(token) - 1), 0, -1):
        if token.startswith(buf[-k:]):
            return k
    return 0


def prompt_opens_thinking(prompt: str) -> bool:
    """Whether a rendered prompt ends inside ``<think>``, so the reply starts with thinking."""
    return prompt.rstrip().endswith(THINK_OPEN)


class ThinkSplitter:
    """Feed the reply in any chunks; get thinking and answer text back as events."""

    def __init__(self, *, opened: bool = False) -> None:
        self._state = "thinking" if opened else "start"  # start | thinking | answer-start | answer
        self._buf = ""
        self._thought = False  # some thinking has been emitted (leading whitespace is gone)

    @property
    def thinking(self) -> bool:
        return self._state == "thinking"

    def feed(self, text: str) -> list[SplitEvent]:
        if self._state == "answer":
            return [TextDelta(text=text)] if text else []
        self._buf += text
        return self._drain(final=False)

    def finish(self) -> list[SplitEvent]:
        events = self._drain(final=True)
        rest, self._buf = self._buf, ""
        if self._state == "thinking" and rest.strip():
            events.append(ThinkingDelta(text=rest.rstrip()))
        elif self._state in ("start", "answer") and rest:
            events.append(TextDelta(text=rest))
        return events

    def _drain(self, *, final: bool) -> list[SplitEvent]:
        events: list[SplitEvent] = []
        while True:
            if self._state == "start":
                lead = self._buf.lstrip()
                if lead.startswith(THINK_OPEN):
                    self._state, self._buf = "thinking", lead[len(THINK_OPEN) :]
                    continue
                if not final and (not lead or THINK_OPEN.startswith(lead)):
                    return events  # whitespace or a partial tag: cannot tell yet
                if final:
                    return events  # finish() emits what is left as text
                self._state, text, self._buf = "answer", self._buf, ""
                events.append(TextDelta(text=text))
                return events
            if self._state == "thinking":
                if not self._thought:
                    self._buf = self._buf.lstrip()
                end = self._buf.find(THINK_CLOSE)
                if end >= 0:
                    thought = self._buf[:end].rstrip()
                    if thought:
                        events.append(ThinkingDelta(text=thought))
                    self._state, self._buf = "answer-start", self._buf[end + len(THINK_CLOSE) :]
                    continue
                if final:
                    return events
                held = _partial_suffix(self._buf, THINK_CLOSE)
                ready = self._buf[: len(self._buf) - held].rstrip()
                if ready:
                    events.append(ThinkingDelta(text=ready))
                    self._thought = True
                    self._buf = self._buf[len(ready) :]
                return events
            if self._state == "answer-start":
                self._buf = self._buf.lstrip()
                if not self._buf:
                    return events
                self._state, text, self._buf = "answer", self._buf, ""
                events.append(TextDelta(text=text))
                return events
            return events
