"""One assistant turn on a loaded llama.cpp model: prompt tokens in, protocol events out.

A ``<think>…</think>`` block that starts the reply becomes ``ThinkingDelta``
events (:class:`agentshell_chatformat.ThinkSplitter`); the answer after it goes
through the tool-call parser, then through the recovery of calls written without the tags
(a bare JSON call as the whole answer, Qwen's ``<function=…>`` XML; :class:`agentshell_chatformat.CallRecovery`).
Decoding is free until the parser sees ``<tool_call>``; from there
it continues under the tools' grammar (:mod:`agentshell_gguf.grammar`). The
switch reuses llama.cpp's KV cache: ``Llama.generate`` keeps the longest
common prefix, so only the token after the tag is evaluated again.
"""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from agentshell_chatformat import TOOL_CALL_OPEN, CallRecovery, ParserEvent, StopScanner, ThinkSplitter, ToolCallParser

from agentshell.protocol import (
    ChatOptions,
    Done,
    Event,
    MalformedToolCall,
    StopReason,
    TextDelta,
    ThinkingDelta,
    Timings,
    ToolCall,
    ToolSpec,
    Usage,
)
from agentshell_gguf.closing import CallCloser

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
    tools: Sequence[ToolSpec] = ()  # what the grammar allows: the closer reads their required arguments
    thinking_opened: bool = False  # the prompt ends with <think>: the reply starts inside the thinking
    debug: bool = False  # say when calls were recovered from text written without the tags


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
    parser = ToolCallParser(tools=turn.tools) if turn.parse_tools else None
    recovery = CallRecovery(turn.tools) if parser is not None else None
    stopper = StopScanner(turn.stops)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    generated = 0
    tokens = list(turn.prompt_tokens)
    grammar = None
    closer = CallCloser(llm, turn.tools) if parser is not None and turn.grammar else None
    seen_calls: set[str] = set()
    call_started: int | None = None  # tokens generated when the open call began
    last_call_tokens = 0
    saw_call = repeated = after_call = False  # after_call: only blank text since the last call
    stop_reason: StopReason = "stop"
    gen_started = time.perf_counter()
    first_token_at: float | None = None
    produced: list[str] = []  # the text generated so far, for rewinding to a <tool_call> tag
    # A forced call starts the reply, so there is no thinking to split off.
    splitter = None if turn.force_call and turn.grammar else ThinkSplitter(opened=turn.thinking_opened)
    if turn.force_call and parser is not None and turn.grammar:
        opening = TOOL_CALL_OPEN
        tokens += llm.tokenize(opening.encode("utf-8"), add_bos=False, special=True)
        produced.append(opening)
        parser.feed(opening)
        call_started = 0
        grammar = llama_cpp.LlamaGrammar.from_string(turn.grammar, verbose=False)

    def emit(text: str, *, final: bool = False) -> Iterator[Event]:
        if splitter is None:
            yield from emit_answer(text, final=final)
            return
        for part in splitter.feed(text) + (splitter.finish() if final else []):
            if isinstance(part, ThinkingDelta):
                yield part
            else:
                yield from emit_answer(part.text)
        if final:
            yield from emit_answer("", final=True)

    def emit_answer(text: str, *, final: bool = False) -> Iterator[Event]:
        nonlocal saw_call, repeated, after_call
        if parser is None:
            if text:
                yield TextDelta(text=text)
            return
        events = parser.feed(text) + (parser.finish() if final else [])
        if recovery is not None:
            events = [out for event in events for out in _recover(recovery, event)]
            if final:
                events += recovery.finish()
        for event in events:
            if isinstance(event, ToolCall):
                key = json.dumps([event.name, event.arguments], sort_keys=True)
                if key in seen_calls:
                    repeated = True  # a small model looping on its call: the copy is dropped and the turn ends
                    continue
                seen_calls.add(key)
            if isinstance(event, ToolCall | MalformedToolCall):
                saw_call = after_call = True
            elif after_call and not event.text.strip():
                continue  # the newlines between calls
            else:
                after_call = False
            yield event

    finished = False
    while not finished:
        switched = False
        processor = [closer] if closer is not None and grammar is not None else None
        stream = llm.generate(
            tokens, reset=True, grammar=grammar, logits_processor=processor, **turn.sampling.as_kwargs()
        )
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
                if stopper.stopped or repeated:
                    finished = True
                    break
                in_call = parser is not None and parser.in_tool_call
                if in_call and call_started is None:
                    call_started = generated - 1
                elif not in_call and call_started is not None:
                    last_call_tokens, call_started = generated - call_started, None
                    if closer is not None:
                        closer.reset()
                    if grammar is not None and turn.max_tokens - generated < last_call_tokens:
                        finished = True  # no room for another call like this one: end between blocks
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
                if closer is not None and grammar is not None and parser is not None and parser.in_tool_call:
                    call_text = parser.open_call_text
                    closer.observe(call_text)
                    if closer.should_engage(call_text, turn.max_tokens - generated):
                        closer.engage()
        finally:
            stream.close()
        if not switched:
            finished = True

    cut_in_call = stop_reason == "length" and parser is not None and parser.in_tool_call
    for event in emit(stopper.flush() + decoder.decode(b"", final=True), final=True):
        if cut_in_call and isinstance(event, MalformedToolCall):
            # A grammar-constrained call only fails to parse when the token budget ends inside it.
            event = event.model_copy(
                update={
                    "error": f"the tool call was cut off after {generated} tokens "
                    "(the max_tokens limit); write a shorter call"
                }
            )
        yield event
    notice = recovery.notice() if recovery is not None and turn.debug else None
    if notice is not None:
        yield notice
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


def _recover(recovery: CallRecovery, event: ParserEvent) -> list[ParserEvent]:
    """Text goes through the recovery (which may hold it back); calls the parser read pass as they are."""
    if isinstance(event, TextDelta):
        return list(recovery.feed(event.text))
    return [event]


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
