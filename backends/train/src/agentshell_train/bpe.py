"""Byte-level BPE, trained on a corpus, in the form llama.cpp reads from GGUF.

GPT-2's scheme: text is cut into pre-tokens by the ``gpt-2`` regex, each
pre-token's UTF-8 bytes are spelled with GPT-2's printable byte alphabet, and
learned merges join adjacent symbols, most frequent pair first. The GGUF stores
the token strings and the merges ("a b" per line); llama.cpp rebuilds the same
tokenizer from them (``tokenizer.ggml.model = "gpt2"``, ``pre = "gpt-2"``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

# llama.cpp's "gpt-2" pre-tokenizer, with \p{L} and \p{N} written for Python's re module
# ([^\W\d_] = letters, \d = digits, [^\s\w]|_ = the rest): identical on the ASCII-heavy text the model sees.
GPT2_SPLIT = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
TOKEN_TYPE_NORMAL, TOKEN_TYPE_CONTROL = 1, 3


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte → printable character table (so that tokens are valid, visible strings)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


def pretokenize(text: str) -> list[str]:
    return GPT2_SPLIT.findall(text)


def _spell(word: str) -> str:
    table = bytes_to_unicode()
    return "".join(table[b] for b in word.encode("utf-8"))


@dataclass
class BPETokenizer:
    """Vocabulary (specials first, then the 256 bytes, then one token per merge) and merges."""

    tokens: list[str]
    merges: list[tuple[str, str]]
    specials: tuple[str, ...] = SPECIAL_TOKENS
    _ids: dict[str, int] = field(init=False, repr=False)
    _ranks: dict[tuple[str, str], int] = field(init=False, repr=False)
    _cache: dict[str, list[int]] = field(init=False, repr=False)
    _special_re: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ids = {t: i for i, t in enumerate(self.tokens)}
        self._ranks = {m: i for i, m in enumerate(self.merges)}
        self._cache = {}
        self._special_re = re.compile("(" + "|".join(re.escape(s) for s in self.specials) + ")")

    @property
    def token_types(self) -> list[int]:
        return [TOKEN_TYPE_CONTROL if t in self.specials else TOKEN_TYPE_NORMAL for t in self.tokens]

    def id_of(self, token: str) -> int:
        return self._ids[token]

    def _bpe(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = list(_spell(word))
        while len(symbols) > 1:
            pairs = [(self._ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(pairwise(symbols))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
        ids = [self._ids[s] for s in symbols]
        self._cache[word] = ids
        return ids

    def encode(self, text: str, *, specials: bool = True) -> list[int]:
        """Token ids; with ``specials``, the control tokens in the text become their single ids."""
        ids: list[int] = []
        parts = self._special_re.split(text) if specials else [text]
        for part in parts:
            if specials and part in self.specials:
                ids.append(self._ids[part])
                continue
            for word in pretokenize(part):
                ids.extend(self._bpe(word))
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        inverse = {c: b for b, c in bytes_to_unicode().items()}
        out = bytearray()
        for i in ids:
            tok = self.tokens[i]
            if tok in self.specials:
                out += tok.encode("utf-8")
            else:
                out += bytes(inverse[c] for c in tok)
        return out.decode("utf-8", errors="replace")


def train_bpe(
    texts: Iterable[str], vocab_size: int, specials: Sequence[str] = SPECIAL_TOKENS, *, space_apart: bool = False
) -> BPETokenizer:
    """Learn ``vocab_size - len(specials) - 256`` merges, most frequent pair first (ties: smallest pair).

    With ``space_apart``, a leading space never merges into a word ("Ġ" + "src" stays two tokens), so a
    name has the same tokens after a space as after a quote or a newline. A small model can then copy a
    file name from a request into JSON, or from a tool result into its answer, token by token; otherwise
    it must learn, for every word, that "Ġsrc" and "src" are the same. Pair counts are kept
    incrementally, so each merge only revisits the words that contain it.
    """

    def allowed(pair: tuple[str, str]) -> bool:
        joined = pair[0] + pair[1]
        return not space_apart or "Ġ" not in joined or joined.strip("Ġ") == ""

    special_re = re.compile("|".join(re.escape(s) for s in specials))
    freq: Counter[str] = Counter()
    for text in texts:
        for part in special_re.split(text):
            freq.update(pretokenize(part))
    words = [list(_spell(w)) for w in freq]
    counts = list(freq.values())
    pair_counts: Counter[tuple[str, str]] = Counter()
    where: dict[tuple[str, str], set[int]] = {}
    for idx, (sym, c) in enumerate(zip(words, counts, strict=True)):
        for pair in pairwise(sym):
            if allowed(pair):
                pair_counts[pair] += c
                where.setdefault(pair, set()).add(idx)

    table = bytes_to_unicode()
    tokens = [*specials, *(table[b] for b in range(256))]
    merges: list[tuple[str, str]] = []
    n_merges = max(0, vocab_size - len(tokens))
    while len(merges) < n_merges and pair_counts:
        best = max(pair_counts.items(), key=lambda kv: (kv[1], _neg(kv[0])))[0]
        if pair_counts[best] < 2:
            break
        merges.append(best)
        joined = best[0] + best[1]
        tokens.append(joined)
        for idx in where.pop(best, set()):
            sym, c = words[idx], counts[idx]
            for pair in pairwise(sym):
                if pair in pair_counts:
                    pair_counts[pair] -= c
                    if pair_counts[pair] <= 0:
                        del pair_counts[pair]
            new: list[str] = []
            i = 0
            while i < len(sym):
                if i + 1 < len(sym) and sym[i] == best[0] and sym[i + 1] == best[1]:
                    new.append(joined)
                    i += 2
                else:
                    new.append(sym[i])
                    i += 1
            words[idx] = new
            for pair in pairwise(new):
                if allowed(pair):
                    pair_counts[pair] += c
                    where.setdefault(pair, set()).add(idx)
    return BPETokenizer(tokens, merges, tuple(specials))


def _neg(pair: tuple[str, str]) -> tuple[int, ...]:
    """Tie-break key that prefers the lexicographically smallest pair under ``max``."""
    return tuple(-ord(ch) for ch in pair[0] + "\x00" + pair[1])
