"""Byte-level BPE, read from a GGUF vocabulary, giving exactly llama.cpp's token ids.

Text becomes ids in four steps, each the way llama.cpp's ``llama-vocab.cpp``
does it:

1. special tokens (``<|im_start|>``...) are cut out of the text first;
2. the pre-tokenizer named by ``tokenizer.ggml.pre`` splits the rest into words
   (GPT-2's rule: contractions, letters, numbers, other symbols, whitespace;
   ``smollm`` first isolates every digit);
3. each word's UTF-8 bytes are spelt with GPT-2's printable byte alphabet;
4. the merges are applied, lowest rank first, leftmost first, until none applies.

Decoding reverses step 3. :class:`StreamDecoder` holds back incomplete UTF-8
sequences so a streamed answer only ever shows whole characters.
"""

from __future__ import annotations

import codecs
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from agentshell_builtin.gguf_loader import UnsupportedModel, VocabData

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# pre-tokenizer name -> does it isolate each digit before the GPT-2 split
_PRE_TOKENIZERS = {"gpt-2": False, "gpt2": False, "smollm": True, "starcoder": True, "refact": True}

# llama.cpp's whitespace set (unicode.cpp), a little narrower than str.isspace()
_WHITESPACE = frozenset(
    [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)
_LETTER, _NUMBER, _SPACE, _OTHER = 1, 2, 3, 4
_END = 0  # past the end of the fragment


@lru_cache(maxsize=8192)
def _kind(ch: str) -> int:
    if ord(ch) in _WHITESPACE:
        return _SPACE
    cat = unicodedata.category(ch)[0]
    return _LETTER if cat == "L" else _NUMBER if cat == "N" else _OTHER


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte to a printable character, so BPE never sees raw control bytes."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = [b for b in range(256) if b not in printable]
    chars = printable + [256 + i for i in range(len(extra))]
    return {b: chr(c) for b, c in zip(printable + extra, chars, strict=True)}


BYTE_TO_CHAR = _bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def split_digits(text: str) -> list[str]:
    r"""The ``\p{N}`` pre-split: every number character alone, the text between kept whole."""
    out: list[str] = []
    start = 0
    for i, ch in enumerate(text):
        if _kind(ch) == _NUMBER:
            if start < i:
                out.append(text[start:i])
            out.append(ch)
            start = i + 1
    if start < len(text):
        out.append(text[start:])
    return out


def split_gpt2(text: str) -> list[str]:
    r"""GPT-2's ``'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+``.

    Written out by hand, as llama.cpp does (unicode_regex_split_custom_gpt2), so
    that the categories and the whitespace set are the same as llama.cpp's.
    """
    n = len(text)
    kinds = [_kind(c) for c in text] + [_END, _END]
    words: list[str] = []
    start = pos = 0
    while pos < n:
        ch = text[pos]
        end = -1
        if ch == "'" and pos + 1 < n:
            if text[pos + 1] in "stmd":
                end = pos + 2
            elif pos + 2 < n and text[pos + 1 : pos + 3] in ("re", "ve", "ll"):
                end = pos + 3
        if end < 0:
            k = kinds[pos + 1] if ch == " " else kinds[pos]
            if k in (_LETTER, _NUMBER, _OTHER):
                end = pos + (ch == " ")
                while kinds[end] == k:
                    end += 1
            else:
                spaces = 0
                while kinds[pos + spaces] == _SPACE:
                    spaces += 1
                if spaces > 1 and pos + spaces < n:
                    end = pos + spaces - 1  # \s+(?!\S): leave the last space to the word after it
                elif spaces > 0:
                    end = pos + spaces
                else:
                    end = pos + 1
        words.append(text[start:end])
        start = pos = end
    return words


class Tokenizer:
    def __init__(self, vocab: VocabData) -> None:
        if vocab.model != "gpt2":
            raise UnsupportedModel(f"tokenizer model {vocab.model!r} is not byte-level BPE")
        if vocab.pre not in _PRE_TOKENIZERS:
            raise UnsupportedModel(
                f"pre-tokenizer {vocab.pre!r} is not supported by the built-in engine "
                f"(supported: {', '.join(sorted(_PRE_TOKENIZERS))})",
                hint="run the file with --model gguf:PATH instead",
            )
        self.vocab = vocab
        self.digits_apart = _PRE_TOKENIZERS[vocab.pre]
        self.tokens = vocab.tokens
        self.types = vocab.token_types
        self.ids = {t: i for i, t in enumerate(vocab.tokens)}
        self.ranks: dict[tuple[str, str], int] = {}
        for rank, merge in enumerate(vocab.merges):
            left, sep, right = merge.partition(" ")
            if sep:
                self.ranks.setdefault((left, right), rank)
        # longest first, as llama.cpp partitions text on them
        specials = [i for i, t in enumerate(self.types) if t in (CONTROL, USER_DEFINED, UNKNOWN) and self.tokens[i]]
        self.specials = sorted(specials, key=lambda i: -len(self.tokens[i].encode()))
        self.bos_id, self.eos_id = vocab.bos_id, vocab.eos_id
        self.stop_ids = self._end_of_generation()
        self._word_cache: dict[str, list[int]] = {}

    def _end_of_generation(self) -> frozenset[int]:
        """Ids that end an answer: eos/eot and the usual end-of-turn markers, as llama.cpp guesses them."""
        ids = {i for i in (self.vocab.eos_id, self.vocab.eot_id) if i is not None}
        for text in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>", "<|eom_id|>"):
            i = self.ids.get(text)
            if i is not None and self.types[i] in (CONTROL, USER_DEFINED):
                ids.add(i)
        return frozenset(ids)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    # ------------------------------------------------------------------ encoding

    def _partition(self, text: str, parse_special: bool) -> list[str | int]:
        """Cut special tokens out of the text: a list of raw strings and special ids."""
        parts: list[str | int] = [text]
        for tid in self.specials:
            if not parse_special and self.types[tid] != USER_DEFINED:
                continue
            piece = self.tokens[tid]
            out: list[str | int] = []
            for part in parts:
                if isinstance(part, int) or piece not in part:
                    out.append(part)
                    continue
                chunks = part.split(piece)
                for j, chunk in enumerate(chunks):
                    if j:
                        out.append(tid)
                    if chunk:
                        out.append(chunk)
            parts = out
        return parts

    def _bpe(self, word: str) -> list[int]:
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        parts = [BYTE_TO_CHAR[b] for b in word.encode("utf-8")]
        while len(parts) > 1:
            best_rank, best = len(self.ranks) + 1, -1
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and r < best_rank:
                    best_rank, best = r, i
            if best < 0:
                break
            parts[best : best + 2] = [parts[best] + parts[best + 1]]
        ids: list[int] = []
        for sym in parts:
            tid = self.ids.get(sym)
            if tid is not None:
                ids.append(tid)
            else:  # not in the vocabulary: fall back to single-byte tokens, as llama.cpp does
                ids.extend(self.ids[c] for c in sym if c in self.ids)
        if len(self._word_cache) < 100_000:
            self._word_cache[word] = ids
        return ids

    def words(self, text: str) -> list[str]:
        frags = split_digits(text) if self.digits_apart else [text]
        return [w for frag in frags for w in split_gpt2(frag)]

    def encode(self, text: str, *, add_special: bool = True, parse_special: bool = False) -> list[int]:
        """Token ids for ``text``, like ``llama_tokenize(text, add_special, parse_special)``."""
        ids: list[int] = []
        if add_special and self.vocab.add_bos and self.bos_id is not None:
            ids.append(self.bos_id)
        for part in self._partition(text, parse_special):
            if isinstance(part, int):
                ids.append(part)
            else:
                for word in self.words(part):
                    ids.extend(self._bpe(word))
        if add_special and self.vocab.add_eos and self.eos_id is not None:
            ids.append(self.eos_id)
        return ids

    # ------------------------------------------------------------------ decoding

    def token_bytes(self, tid: int, *, special: bool = False) -> bytes:
        """The bytes a token stands for; control tokens are empty unless ``special``."""
        if not 0 <= tid < len(self.tokens):
            return b""
        text, kind = self.tokens[tid], self.types[tid]
        if kind in (CONTROL, UNKNOWN):
            return text.encode() if special else b""
        if kind == USER_DEFINED:
            return text.encode()
        return bytes(CHAR_TO_BYTE.get(c, 0x3F) for c in text)

    def decode(self, ids: Iterable[int], *, special: bool = False) -> str:
        return b"".join(self.token_bytes(i, special=special) for i in ids).decode("utf-8", errors="replace")

    def piece(self, tid: int) -> str:
        """A token shown on its own (for explain): special tokens by name, bytes escaped if partial."""
        raw = self.token_bytes(tid, special=True)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "".join(f"<0x{b:02X}>" for b in raw)


class StreamDecoder:
    """Feeds token ids, returns only whole characters; ``flush`` ends the stream."""

    def __init__(self, tokenizer: Tokenizer, *, special: bool = False) -> None:
        self.tokenizer = tokenizer
        self.special = special
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, tid: int) -> str:
        return str(self._utf8.decode(self.tokenizer.token_bytes(tid, special=self.special)))

    def feed_all(self, ids: Sequence[int]) -> str:
        return "".join(self.feed(t) for t in ids)

    def flush(self) -> str:
        return str(self._utf8.decode(b"", final=True))
