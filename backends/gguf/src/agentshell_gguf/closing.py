"""Making a grammar-constrained tool call end before the token budget does.

The grammar guarantees that whatever the model writes inside ``<tool_call>``
is a prefix of a valid call, but not that the call ever ends: a small model
can repeat array items (``["G", "C", "G", "C", …``) or grow a string until
``max_tokens`` cuts it, and a cut call does not parse. So when the tokens left
are barely enough to finish the call, or when the model is visibly looping,
:class:`CallCloser` switches on a large logit bias for the tokens made only of
closing characters. The grammar still decides what is allowed, so the call
stays valid: an open string closes, an array ends, an object ends as soon as
its required properties are written (the model writes the missing ones,
biased towards the shortest value), and then the tag closes. The result is a
shorter call, never an invalid one.

Everything here runs once per generated token, so the call text is scanned
incrementally and the precise estimate is only computed near the end.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any

from agentshell.protocol import ToolSpec

CLOSING_CHARS = frozenset('"]}')
CLOSING_BIAS = 60.0  # logits are in nats; this outweighs any preference the model has
CLOSING_MARGIN = 6  # tokens kept beyond the estimate: spaces, a comma already written, tokenization
# A loop: between values, the call ends with the same 3..40 characters at least 16 times over
# (32 items of ["G", "C", …], 16 zeros). Inside a string it is not checked: repeated text there may
# be real content (a file's ==== lines), and such content is never periodic across its closing quote.
LOOP_REPEATS = 16
LOOP_PERIODS = range(3, 41)
_NAME = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')
_biases: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


class JSONScan:
    """Open containers and string state at the end of a growing JSON prefix, fed piece by piece."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self._escaped = False
        self.length = 0  # characters consumed

    def feed(self, text: str) -> None:
        self.length += len(text)
        for ch in text:
            if self.in_string:
                if self._escaped:
                    self._escaped = False
                elif ch == "\\":
                    self._escaped = True
                elif ch == '"':
                    self.in_string = False
            elif ch == '"':
                self.in_string = True
            elif ch in "[{":
                self.depth += 1
            elif ch in "]}":
                self.depth = max(0, self.depth - 1)

    @property
    def open(self) -> int:
        """Containers and strings still open: each needs at least one token to close."""
        return self.depth + int(self.in_string)


def open_depth(text: str) -> int:
    """How many JSON containers and strings are open at the end of ``text``."""
    scan = JSONScan()
    scan.feed(text)
    return scan.open


def looping(text: str) -> bool:
    """Whether ``text`` ends with one short piece repeated :data:`LOOP_REPEATS` times."""
    for period in LOOP_PERIODS:
        span = period * LOOP_REPEATS
        if len(text) < span:
            return False
        tail = text[-span:]
        if tail == tail[:period] * LOOP_REPEATS:
            return True
    return False


def closing_biases(llm: Any) -> tuple[Any, Any]:
    """Two per-vocabulary bias arrays (cached per model): inside a string and outside one.

    Inside a string only a quote closes (``]`` and ``}`` are just characters there), so the
    tokens favoured are a quote followed by closing characters (``"``, ``"]``, ``"}}``);
    outside, only ``]``/``}`` runs, since a quote would open a new string.
    """
    key = getattr(llm, "_model", llm)
    cached = _biases.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    import numpy as np

    in_string = np.zeros(llm.n_vocab(), dtype=np.float32)
    outside = np.zeros(llm.n_vocab(), dtype=np.float32)
    for token in range(len(in_string)):
        text = llm.detokenize([token]).decode("utf-8", errors="ignore").strip()
        if not text or not set(text) <= CLOSING_CHARS:
            continue
        if text[0] == '"':
            in_string[token] = CLOSING_BIAS
        elif '"' not in text:
            outside[token] = CLOSING_BIAS
    _biases[key] = (in_string, outside)
    return in_string, outside


class CallCloser:
    """A llama-cpp-python logits processor, inert until :meth:`engage`; one per turn.

    The run loop shows it the open call's text after every token (:meth:`observe`), asks
    whether to engage, and calls :meth:`reset` when a call closes.
    """

    def __init__(self, llm: Any, tools: Sequence[ToolSpec]) -> None:
        self._llm = llm
        self._tag_tokens = self._count("\n</tool_call>")
        # Per tool, the tokens each required argument costs at least: `, "key": ""` (an empty value),
        # spaced or not, whichever tokenizes longer.
        self._required = {
            tool.name: {
                key: max(self._count(f', "{key}": ""'), self._count(f',"{key}":""'))
                for key in tool.parameters.get("required", ())
            }
            for tool in tools
        }
        self._name_tokens = max((self._count(f'"{tool.name}", "arguments": {{') for tool in tools), default=0)
        self._most_missing = self._name_tokens + max((sum(r.values()) for r in self._required.values()), default=0)
        self._biases: tuple[Any, Any] | None = None
        self._scan = JSONScan()
        self._recent = ""  # the end of the call text, for loop detection
        self.engaged = False

    def _count(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def observe(self, call_text: str) -> None:
        if len(call_text) < self._scan.length:  # a new call began within one token
            self.reset()
        new = call_text[self._scan.length :]
        self._scan.feed(new)
        self._recent = (self._recent + new)[-LOOP_REPEATS * LOOP_PERIODS[-1] :]

    def tokens_needed(self, call_text: str) -> int:
        """The fewest tokens that finish ``call_text``, roughly: close what is open, write the
        required arguments still missing (with empty values), close the tag."""
        match = _NAME.search(call_text)
        if match is None:  # the name is not written yet: assume the costliest tool
            missing = self._most_missing
        else:
            arguments = call_text[match.end() :]
            required = self._required.get(match.group(1), {})
            missing = sum(cost for key, cost in required.items() if f'"{key}"' not in arguments)
        return open_depth(call_text) + missing + self._tag_tokens + CLOSING_MARGIN

    def should_engage(self, call_text: str, tokens_left: int) -> bool:
        if self.engaged:
            return False
        if not self._scan.in_string and looping(self._recent):
            return True
        upper = self._scan.open + self._most_missing + self._tag_tokens + CLOSING_MARGIN
        return tokens_left <= upper and tokens_left <= self.tokens_needed(call_text)

    def engage(self) -> None:
        if self._biases is None:
            self._biases = closing_biases(self._llm)
        self.engaged = True

    def reset(self) -> None:
        """A call closed: the next one starts unbiased, with fresh state."""
        self.engaged = False
        self._scan = JSONScan()
        self._recent = ""

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if not self.engaged or self._biases is None:
            return scores
        return scores + self._biases[0 if self._scan.in_string else 1]
