"""One assistant turn on a loaded llama.cpp model: prompt tokens in, protocol events out.

Decoding is free until the tool-call parser sees ``<tool_call>``; from there
it continues under the tools' grammar (:mod:`agentshell_gguf.grammar`). The
switch reuses llama.cpp's KV cache: ``Llama.generate`` keeps the longest
common prefix, so only the token after the tag is evaluated again.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from agentshell_chatformat import TOOL_CALL_OPEN, StopScanner, ToolCallParser

from agentshell.protocol import (
    ChatOptions,
    Done,
    Event,
    MalformedToolCall,
    StopReason,
    TextDelta,
    Timings,
    ToolCall,
    Usage,
)

DEFAULT_TEMPERATURE = 0.7


@dataclass
class Sampling:
    temperature: float = DEFAULT_TEMPERATURE
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.0

    @classmethod
    def from_options(cls, options: ChatOptions) -> Sampling:
        extra = options.extra
        return cls(
            temperature=options.temperature if options.temperature is not None else DEFAULT_TEMPERATURE,
            top_p=options.top_p if options.top_p is not None else 0.95,
            top_k=options.top_k if options.top_k is not None else 40,
            min_p=float(extra.get("min_p", 0.05)),
            repeat_penalty=float(extra.get("repeat_penalty", 1.0)),
        )

    def as_kwargs(self) -> dict[str, Any]:
        return {
            "temp": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repeat_penalty": self.repeat_penalty,
        }


@dataclass
class Turn:
    """Everything one generation needs; ``grammar`` is GBNF text or None for free decoding."""

    llm: Any
    prompt_tokens: list[int]
    stops: Sequence[str]
    sampling: Sampling
    max_tokens: int
    parse_tools: bool
    grammar: str | None
    started: float  # perf_counter() when the chat call began, for time to first token
    load_ms: float | None = None
    force_call: bool = False  # tool_choice "required": the answer starts inside <tool_call>


def grammar_loads(llama_cpp: ModuleType, llm: Any, gbnf: str) -> bool:
    """Whether llama.cpp accepts the grammar; llama-cpp-python would chain a NULL sampler and crash."""
    sampler = llama_cpp.llama_sampler_init_grammar(llm._model.vocab, gbnf.encode("utf-8"), b"root")
    if not sampler:
        return False
    llama_cpp.llama_sampler_free(sampler)
    return True


def run_turn(llama_cpp: ModuleType, turn: Turn) -> Iterator[Event]:
    llm = turn.llm
    vocab = llm._model.vocab
    parser = ToolCallParser() if turn.parse_tools else None
    stopper = StopScanner(turn.stops)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    generated = 0
    tokens = list(turn.prompt_tokens)
    grammar = None
    saw_call = False
    stop_reason: StopReason = "stop"
    gen_started = time.perf_counter()
    first_token_at: float | None = None
    produced: list[str] = []  # the text generated so far, for rewinding to a <tool_call> tag
    if turn.force_call and parser is not None and turn.grammar:
        opening = TOOL_CALL_OPEN
        tokens += llm.tokenize(opening.encode("utf-8"), add_bos=False, special=True)
        produced.append(opening)
        parser.feed(opening)
        grammar = llama_cpp.LlamaGrammar.from_string(turn.grammar, verbose=False)

    def emit(text: str, *, final: bool = False) -> Iterator[Event]:
        nonlocal saw_call
        if parser is None:
            if text:
                yield TextDelta(text=text)
            return
        events = parser.feed(text) + (parser.finish() if final else [])
        for event in events:
            if isinstance(event, ToolCall | MalformedToolCall):
                saw_call = True
            elif saw_call and not event.text.strip():
                continue  # the newlines between calls
            yield event

    finished = False
    while not finished:
        switched = False
        stream = llm.generate(tokens, reset=True, grammar=grammar, **turn.sampling.as_kwargs())
        try:
            for token in stream:
                if first_token_at is None:
                    first_token_at = time.perf_counter()
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finished = True
                    break
                generated += 1
                tokens.append(token)
                piece = decoder.decode(llm.detokenize([token]))
                produced.append(piece)
                yield from emit(stopper.feed(piece))
                if stopper.stopped:
                    finished = True
                    break
                if generated >= turn.max_tokens:
                    stop_reason = "length"
                    finished = True
                    break
                if turn.grammar and grammar is None and parser is not None and parser.in_tool_call:
                    body = parser.take_call_body() + stopper.discard_pending()
                    tokens = _rewind_to_tag(llm, turn.prompt_tokens, produced, body, tokens)
                    decoder.reset()
                    grammar = llama_cpp.LlamaGrammar.from_string(turn.grammar, verbose=False)
                    switched = True
                    break
        finally:
            stream.close()
        if not switched:
            finished = True

    cut_in_call = stop_reason == "length" and parser is not None and parser.in_tool_call
    for event in emit(stopper.flush() + decoder.decode(b"", final=True), final=True):
        if cut_in_call and isinstance(event, MalformedToolCall):
            # A grammar-constrained call only fails to parse when the token budget ends inside it.
            event = event.model_copy(update={"error": f"the tool call was cut off after {generated} tokens "
                                             "(the max_tokens limit); write a shorter call"})
        yield event
    if saw_call and stop_reason == "stop":
        stop_reason = "tool_calls"
    end = time.perf_counter()
    first = first_token_at or end
    yield Done(
        stop_reason=stop_reason,
        usage=Usage(prompt_tokens=len(turn.prompt_tokens), completion_tokens=generated),
        timings=Timings(
            load_ms=turn.load_ms,
            prompt_ms=(first - gen_started) * 1000,
            generation_ms=(end - first) * 1000,
            first_token_ms=(first - turn.started) * 1000,
        ),
    )


def _rewind_to_tag(llm: Any, prompt: list[int], produced: list[str], body: str, tokens: list[int]) -> list[int]:
    """Tokens ending exactly at ``<tool_call>``, so that the grammar starts at the beginning of the call.

    When the token that completed the tag also carried text of the call (``>{"``), that
    text is dropped and the generated text is tokenized again up to the tag;
    ``Llama.generate`` keeps the common prefix in the KV cache, so little is re-evaluated.
    """
    if not body:
        return tokens
    text = "".join(produced)
    kept = text[: len(text) - len(body)]
    produced[:] = [kept]
    return list(prompt) + list(llm.tokenize(kept.encode("utf-8"), add_bos=False, special=True))
