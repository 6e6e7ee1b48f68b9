"""Typing noise for requests: typos, missing apostrophes, case, quotes around what is meant.

People type fast: ``whats``, ``teh``, ``LIST src``, ``search for 'launch code'``. The noise touches only
the words of the phrasing, never the names and texts the tool is called with, so the model learns that
the words around an argument may be misspelt while the argument itself is copied exactly.
"""

from __future__ import annotations

import random
import re

_SLOT = re.compile(r"\{(\w+)\}")
_NEIGHBOURS = {
    "a": "sq",
    "e": "wr",
    "i": "uo",
    "o": "ip",
    "s": "ad",
    "t": "ry",
    "n": "bm",
    "r": "et",
    "l": "k",
    "h": "gj",
}
_QUOTES = ("'", '"', "`")
QUOTABLE = frozenset({"pattern", "content", "command", "old", "new"})


def typo(rng: random.Random, word: str) -> str:
    """One slip of the fingers in a word of four letters or more: swap, drop, double or a neighbouring key."""
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    how = rng.randrange(4)
    if how == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == 1:
        return word[:i] + word[i + 1 :]
    if how == 2:
        return word[:i] + word[i] + word[i:]
    near = _NEIGHBOURS.get(word[i].lower())
    return word[:i] + rng.choice(near) + word[i + 1 :] if near else word


def _noisy_words(rng: random.Random, text: str, typo_rate: float, drop_apostrophes: bool) -> str:
    if drop_apostrophes:
        text = text.replace("'", "")
    if typo_rate <= 0:
        return text
    return re.sub(r"[A-Za-z]+", lambda m: typo(rng, m.group(0)) if rng.random() < typo_rate else m.group(0), text)


def noisy_format(rng: random.Random, phrase: str, values: dict[str, str]) -> str:
    """``phrase`` with its slots filled from ``values``; its own words (only) may carry typing noise.

    A quotable value (a search pattern, a text, a command) is sometimes put in quotes, unless the phrase
    already quotes it; the tool is still called with the bare value.
    """
    typo_rate = rng.choice((0.0, 0.0, 0.0, 0.0, 0.08, 0.15))
    drop_apostrophes = rng.random() < 0.2
    shout = rng.random() < 0.03
    out: list[str] = []
    pos = 0
    for m in _SLOT.finditer(phrase):
        before = phrase[pos : m.start()]
        literal = _noisy_words(rng, before, typo_rate, drop_apostrophes)
        out.append(literal.upper() if shout else literal)
        slot = m.group(1)
        value = values[slot]
        quoted_already = before[-1:] in (*_QUOTES, "/")
        if slot in QUOTABLE and not quoted_already and rng.random() < 0.3:
            q = rng.choice(_QUOTES)
            value = f"{q}{value}{q}"
        elif slot == "path" and not quoted_already and rng.random() < 0.05:
            value = f"`{value}`"
        out.append(value)
        pos = m.end()
    tail = _noisy_words(rng, phrase[pos:], typo_rate, drop_apostrophes)
    out.append(tail.upper() if shout else tail)
    return "".join(out)
