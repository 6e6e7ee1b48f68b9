"""Keep the conversation inside the model's context window, and say so when it had to shrink.

Counting: exact where the backend can tokenize (``protocol.TokenCounter``: gguf, builtin);
otherwise a character estimate, calibrated by what the server reported for the last
request (:meth:`ContextKeeper.observe`, e.g. Ollama's ``prompt_eval_count``): the part of the
conversation the server already counted is taken at its word, only the new tail is estimated.

Compaction, when a request would pass ``threshold × window`` (or on ``/compact``):

1. shorten old tool outputs (head and tail kept), since they are the bulk and least needed;
2. summarize older turns with the ``summarize`` callback (the loop asks the model), keeping
   the system prompt, the latest user request and the most recent messages verbatim.

A cut never falls between an assistant's tool call and its tool result: a tool message
without its call confuses every backend. A request larger than the window is never sent:
:class:`protocol.ContextOverflow` is raised instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agentshell.protocol import Backend, ChatOptions, ContextOverflow, Message, TextDelta, TokenCounter, ToolSpec

CHARS_PER_TOKEN = 3.5  # BPE vocabularies give 3.5-4.5 for English and code; lower overestimates, which is safe
MESSAGE_OVERHEAD = 4  # role markers and separators a chat template adds per message
TOOL_OUTPUT_HEAD = 600  # characters of an old tool output kept at the start...
TOOL_OUTPUT_TAIL = 200  # ...and at the end
AFTER_COMPACTION = 0.5  # share of the window the kept messages may fill, so compaction is not needed again at once
SUMMARY_RESERVE = 0.1  # share of the window kept free for the summary itself
MAX_PASSES = 3
SUMMARY_HEADER = "[Summary of the earlier conversation, written to save context]"

Summarize = Callable[[Sequence[Message]], str]


@dataclass(frozen=True)
class FitResult:
    messages: list[Message]
    tokens: int
    compacted: bool
    note: str | None  # one line for the user when something was compacted


# --------------------------------------------------------------------------- estimates


def estimate_message(message: Message) -> float:
    chars = len(message.content) + len(message.thinking or "")
    for call in message.tool_calls:
        chars += len(call.name) + len(json.dumps(call.arguments, ensure_ascii=False))
    return chars / CHARS_PER_TOKEN + MESSAGE_OVERHEAD


def estimate_tools(tools: Sequence[ToolSpec]) -> float:
    return sum(len(json.dumps(t.model_dump(), ensure_ascii=False)) for t in tools) / CHARS_PER_TOKEN


def estimate(messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> float:
    return sum(estimate_message(m) for m in messages) + estimate_tools(tools)


# --------------------------------------------------------------------------- where a conversation may be cut


def safe_cuts(messages: Sequence[Message]) -> set[int]:
    """Indices ``c`` where ``messages[:c]`` / ``messages[c:]`` keeps every tool call with its results."""
    owner: dict[str, int] = {}
    for i, m in enumerate(messages):
        for call in m.tool_calls:
            owner[call.id] = i
    unsafe: set[int] = set()
    for j, m in enumerate(messages):
        if m.role == "tool":
            unsafe.add(j)  # a tool message never starts a part
            k = owner.get(m.tool_call_id or "")
            if k is not None and k < j:
                unsafe.update(range(k + 1, j + 1))
    return {c for c in range(len(messages) + 1) if c not in unsafe}


def _system_end(messages: Sequence[Message]) -> int:
    n = 0
    while n < len(messages) and messages[n].role == "system":
        n += 1
    return n


def _last_user(messages: Sequence[Message], start: int) -> int | None:
    for i in range(len(messages) - 1, start - 1, -1):
        if messages[i].role == "user":
            return i
    return None


def _shorten(text: str) -> str:
    removed = len(text) - TOOL_OUTPUT_HEAD - TOOL_OUTPUT_TAIL
    return (
        f"{text[:TOOL_OUTPUT_HEAD]}\n[… {removed:,} characters of this tool output were removed to save context …]\n"
        f"{text[-TOOL_OUTPUT_TAIL:]}"
    )


def shorten_old_tool_outputs(messages: Sequence[Message]) -> tuple[list[Message], int]:
    """Tool outputs before the latest tool round, cut to head and tail. Returns (messages, how many were cut)."""
    latest_round = max((i for i, m in enumerate(messages) if m.tool_calls), default=len(messages))
    out, count = [], 0
    limit = TOOL_OUTPUT_HEAD + TOOL_OUTPUT_TAIL + 200  # below this, cutting saves too little to be worth it
    for i, m in enumerate(messages):
        if m.role == "tool" and i < latest_round and len(m.content) > limit:
            out.append(m.model_copy(update={"content": _shorten(m.content)}))
            count += 1
        else:
            out.append(m)
    return out, count


# --------------------------------------------------------------------------- asking a model for a summary


SUMMARY_INSTRUCTIONS = (
    "You compress a coding agent's conversation so the work can go on in a smaller context. "
    "Write a concise summary in plain text: the user's requests and constraints, what was done "
    "(files read or changed, commands run and their outcome), decisions made, and what remains to do. "
    "Keep exact file paths, names, numbers and error messages. Do not invent anything."
)


def render_transcript(messages: Sequence[Message]) -> str:
    """A conversation as plain text, so any model can summarize it without tool-calling support."""
    parts = []
    for m in messages:
        if m.role == "tool":
            parts.append(f"TOOL RESULT ({m.name or 'tool'}):\n{m.content}")
            continue
        text = m.content
        for call in m.tool_calls:
            text += f"\n[calls {call.name} {json.dumps(call.arguments, ensure_ascii=False)}]"
        parts.append(f"{m.role.upper()}:\n{text.strip()}")
    return "\n\n".join(parts)


def summary_request(messages: Sequence[Message]) -> list[Message]:
    """The messages to send a model so that its answer is a summary of ``messages`` (for the loop's summarize)."""
    return [
        Message(role="system", content=SUMMARY_INSTRUCTIONS),
        Message(role="user", content=f"Summarize this conversation:\n\n{render_transcript(messages)}"),
    ]


def summarize(backend: Backend, model: str, options: ChatOptions, messages: Sequence[Message]) -> str:
    """Ask the model itself for the summary; bounded so a small model cannot ramble past its window."""
    stream = backend.chat(
        model, summary_request(messages), tools=(), options=options.model_copy(update={"max_tokens": 1024})
    )
    return "".join(e.text for e in stream if isinstance(e, TextDelta)).strip()


def summary_message(text: str) -> Message:
    return Message(role="user", content=f"{SUMMARY_HEADER}\n{text.strip()}")


# --------------------------------------------------------------------------- the keeper


class ContextKeeper:
    def __init__(self, window: int | None, *, threshold: float = 0.8) -> None:
        if window is not None and window <= 0:
            raise ValueError(f"context window must be positive, got {window}")
        if not 0 < threshold <= 1:
            raise ValueError(f"context threshold must be in (0, 1], got {threshold}")
        self.window = window
        self.threshold = threshold
        self.exact = False  # whether the last count came from the backend's tokenizer
        self._ratio = 1.0  # server tokens per estimated token
        self._observed: tuple[tuple[Message, ...], tuple[ToolSpec, ...], int] | None = None

    # ---- counting

    def count(self, backend: Backend, model: str, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> int:
        if isinstance(backend, TokenCounter):
            try:
                tokens = backend.count_tokens(model, messages, tools)
            except Exception:  # a tokenizer problem must not end the conversation
                pass  # e.g. the model cannot be loaded yet, or its template fails: fall back to the estimate
            else:
                self.exact = True
                return tokens
        self.exact = False
        return self._estimate(messages, tools)

    def _estimate(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> int:
        if self._observed is not None:
            seen, seen_tools, tokens = self._observed
            n = len(seen)
            if n <= len(messages) and tuple(tools) == seen_tools and tuple(messages[:n]) == seen:
                return tokens + math.ceil(self._ratio * estimate(messages[n:]))
        return math.ceil(self._ratio * estimate(messages, tools))

    def observe(self, prompt_tokens: int, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> None:
        """Calibrate with the prompt size the server reported for ``messages`` + ``tools``."""
        raw = estimate(messages, tools)
        if prompt_tokens <= 0 or raw <= 0:
            return
        ratio = prompt_tokens / raw
        if ratio < 0.5:
            return  # a server that reuses a cached prefix reports only the new tokens: not the prompt size
        self._ratio = min(ratio, 4.0)
        self._observed = (tuple(messages), tuple(tools), prompt_tokens)

    def share(self, tokens: int) -> float | None:
        return tokens / self.window if self.window else None

    # ---- fitting

    def fit(
        self,
        backend: Backend,
        model: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        *,
        summarize: Summarize,
        force: bool = False,
    ) -> FitResult:
        msgs = list(messages)
        before = tokens = self.count(backend, model, msgs, tools)
        budget = self.threshold * self.window if self.window else None
        if not force and (budget is None or tokens <= budget):
            return FitResult(msgs, tokens, False, None)

        done: list[str] = []
        shortened, n = shorten_old_tool_outputs(msgs)
        if n:
            msgs = shortened
            tokens = self.count(backend, model, msgs, tools)
            done.append(f"shortened {n} old tool output{'s' if n > 1 else ''}")

        summarized, passes = 0, 0
        need = force or (budget is not None and tokens > budget)
        while need and passes < MAX_PASSES:
            compacted, k = self._summarize_older(msgs, tools, tokens, summarize, keep_last_turn=force and passes == 0)
            if k == 0:
                break
            msgs, summarized, passes = compacted, summarized + k, passes + 1
            tokens = self.count(backend, model, msgs, tools)
            need = budget is not None and tokens > budget  # one summary is what /compact asks; more only to fit
        if summarized:
            done.append(f"summarized {summarized} older message{'s' if summarized > 1 else ''}")

        if done and tokens >= before:  # a summary as long as what it replaced saves nothing: never claim it did
            msgs, tokens, done = list(messages), before, []
            if force:
                return FitResult(
                    msgs, tokens, False, f"nothing to compact: a summary would not be shorter ({before:,} tokens)"
                )
        if self.window is not None and tokens > self.window:
            raise ContextOverflow(
                f"the conversation needs {tokens:,} tokens but {model}'s context window is {self.window:,}, "
                "even after compaction",
                hint="start a new conversation with /clear, or use a model with a larger context window",
            )
        if not done:
            return FitResult(msgs, tokens, False, "nothing to compact yet" if force else None)
        note = f"context compacted: {', '.join(done)} ({before:,} → {tokens:,} tokens)"
        return FitResult(msgs, tokens, True, note)

    def _summarize_older(
        self,
        msgs: list[Message],
        tools: Sequence[ToolSpec],
        tokens: int,
        summarize: Summarize,
        *,
        keep_last_turn: bool,
    ) -> tuple[list[Message], int]:
        """Replace older messages by one summary. Returns (messages, how many were summarized); 0 if impossible."""
        start = _system_end(msgs)
        pinned = _last_user(msgs, start)
        cuts = sorted(c for c in safe_cuts(msgs) if start < c < len(msgs))
        # The most recent block (a tool round, or the last message) always stays verbatim.
        cuts = [c for c in cuts if _region_size(start, c, pinned) > 0]
        if not cuts:
            return msgs, 0
        scale = tokens / max(estimate(msgs, tools), 1.0)  # estimate units -> this backend's tokens

        def kept_tokens(c: int) -> float:
            kept = estimate(msgs[:start], tools) + estimate(msgs[c:])
            if pinned is not None and pinned < c:
                kept += estimate_message(msgs[pinned])
            return kept * scale

        if keep_last_turn and pinned is not None and pinned in cuts:
            cut = pinned
        elif self.window is None:
            cut = cuts[-1]
        else:
            target = self.window * (AFTER_COMPACTION - SUMMARY_RESERVE)
            cut = next((c for c in cuts if kept_tokens(c) <= target), cuts[-1])

        region = msgs[start:cut]
        text = self._summary_text(region, scale, summarize)
        kept = [msgs[pinned]] if pinned is not None and start <= pinned < cut else []
        result = [*msgs[:start], summary_message(text), *kept, *msgs[cut:]]
        return result, len(region) - len(kept)

    def _summary_text(self, region: list[Message], scale: float, summarize: Summarize) -> str:
        """Summarize ``region``, in chunks that each fit the window, folding each summary into the next chunk."""
        chunk_budget = self.window * AFTER_COMPACTION / scale if self.window else math.inf
        chunks: list[list[Message]] = []
        current: list[Message] = []
        size = 0.0
        cuts = safe_cuts(region)
        for i, m in enumerate(region):
            m = _fit_message(m, chunk_budget)
            cost = estimate_message(m)
            if current and i in cuts and size + cost > chunk_budget:
                chunks.append(current)
                current, size = [], 0.0
            current.append(m)
            size += cost
        if current:
            chunks.append(current)
        text = ""
        for chunk in chunks:
            prior = [summary_message(text)] if text else []
            text = summarize([*prior, *chunk]).strip() or text
        if not text:
            text = f"({len(region)} earlier messages were removed; no summary could be written.)"
        return text


def _region_size(start: int, cut: int, pinned: int | None) -> int:
    size = cut - start
    if pinned is not None and start <= pinned < cut:
        size -= 1
    return size


def _fit_message(message: Message, budget_tokens: float) -> Message:
    """A message small enough to be summarized within one request (a pasted log can be larger than the window)."""
    if estimate_message(message) <= budget_tokens:
        return message
    keep = max(int((budget_tokens - MESSAGE_OVERHEAD) * CHARS_PER_TOKEN) - 200, 200)
    content = message.content
    if len(content) > keep:
        half = keep // 2
        content = f"{content[:half]}\n[… {len(content) - 2 * half:,} characters removed …]\n{content[-half:]}"
    return message.model_copy(update={"content": content, "thinking": None})
