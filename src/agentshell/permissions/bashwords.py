"""Quote removal for one bash word, from its source text: ``'rm'``, ``\\rm``, ``r""m``, ``$'\\x72m'`` all read ``rm``.

Done here rather than by bashlex, whose own quote removal is incomplete (``$'...'``); what only
the running shell knows (a parameter, a substitution, a glob, a brace list) becomes :data:`ANY`.
:mod:`agentshell.permissions.bashparse` finds the words; see docs/tools-and-permissions.md#rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

ANY = "\ue000"  # in a word's text: a part known only at run time (it may be any text, any number of words)
_ANSI_C = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ANSI_C.update({"\\": "\\", "'": "'", '"': '"', "?": "?"})


class Unreadable(Exception):
    """The text is not what bashlex said it was; ``str()`` says where, for the opaque reason."""


@dataclass(frozen=True)
class Word:
    text: str  # quotes removed, each run-time part replaced by one ANY
    raw: str = ""  # as written, for messages
    substitution: bool = False  # $(...), `...`, <(...), >(...)
    arithmetic: bool = False  # $(( )), $[ ]
    subscript: bool = False  # ${a[...]} or ${...$(...)}: evaluated as code by bash

    @property
    def dynamic(self) -> bool:
        return ANY in self.text


def read_word(source: str, start: int, end: int, inner: dict[int, tuple[int, str]] | None = None) -> Word:
    """The word ``source[start:end]`` after quote removal, with run-time parts as ANY.

    ``inner`` maps where bashlex found an expansion to its end and kind; without it (a string
    that never went through bashlex), ``$`` and backquotes are read here.
    Raises :class:`Unreadable` when the text is not one complete word.
    """
    scan = _WordScan(source, end, inner or {})
    scan.run(start)
    return Word("".join(scan.out), source[start:end], scan.substitution, scan.arithmetic, scan.subscript)


class _WordScan:
    def __init__(self, source: str, end: int, inner: dict[int, tuple[int, str]]) -> None:
        self.src = source
        self.end = end
        self.inner = inner
        self.out: list[str] = []
        self.substitution = self.arithmetic = self.subscript = False

    def unknown(self) -> None:
        if not self.out or self.out[-1] != ANY:
            self.out.append(ANY)

    def run(self, i: int) -> None:
        src, end = self.src, self.end
        while i < end:
            c = src[i]
            if c == "\\":
                if i + 1 < end:
                    if src[i + 1] != "\n":
                        self.out.append(src[i + 1])
                    i += 2
                else:
                    self.out.append("\\")
                    i += 1
            elif c == "'":
                close = src.find("'", i + 1, end)
                if close == -1:
                    raise Unreadable("it has an unterminated ' quote")
                self.out.append(src[i + 1 : close])
                i = close + 1
            elif src.startswith("$'", i):
                i = self.ansi_c(i + 2)
            elif src.startswith('$"', i):
                i = self.double(i + 2)
            elif c == '"':
                i = self.double(i + 1)
            elif c in "$`":
                i = self.expansion(i)
            elif c in "*?" or (c == "[" and "]" in src[i + 1 : end]):
                self.unknown()  # a glob: file names, known at run time
                i += 1
            elif c == "{" and self.brace_list(i):
                self.unknown()
                i = self.brace_list(i)
            elif c in "<>@!+" and src.startswith("(", i + 1):
                i = self.expansion(i) if i in self.inner else self.unreadable(i)
            else:
                self.out.append(c)
                i += 1

    def unreadable(self, i: int) -> int:
        raise Unreadable(f"part of it could not be read reliably (near {self.src[i : i + 20]!r})")

    def ansi_c(self, i: int) -> int:
        src, end = self.src, self.end
        while i < end:
            c = src[i]
            if c == "'":
                return i + 1
            if c != "\\" or i + 1 >= end:
                self.out.append(c)
                i += 1
                continue
            e = src[i + 1]
            i += 2
            if e in _ANSI_C:
                self.out.append(_ANSI_C[e])
            elif e in "01234567":
                digits = e + "".join(_take(src, i, end, "01234567", 2))
                i += len(digits) - 1
                self.out.append(chr(int(digits, 8) & 0xFF))
            elif e in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[e]
                digits = "".join(_take(src, i, end, "0123456789abcdefABCDEF", width))
                i += len(digits)
                self.out.append(chr(min(int(digits, 16), 0x10FFFF)) if digits else "\\" + e)
            elif e == "c" and i < end:
                self.out.append(chr(ord(src[i]) & 0x1F))
                i += 1
            else:
                self.out.append("\\" + e)
        raise Unreadable("it has an unterminated $' quote")

    def double(self, i: int) -> int:
        src, end = self.src, self.end
        while i < end:
            c = src[i]
            if c == '"':
                return i + 1
            if c == "\\" and i + 1 < end and src[i + 1] in '$`"\\\n':
                if src[i + 1] != "\n":
                    self.out.append(src[i + 1])
                i += 2
            elif c in "$`":
                i = self.expansion(i)
            else:
                self.out.append(c)
                i += 1
        raise Unreadable('it has an unterminated " quote')

    def expansion(self, i: int) -> int:
        src = self.src
        known = self.inner.get(i)
        if known is not None:
            stop, kind = known
            if kind in ("commandsubstitution", "processsubstitution"):
                self.substitution = True
            elif kind == "parameter" and re.search(r"[\[$`]", src[i + 1 : stop]):
                self.subscript = True
            self.unknown()
            return stop
        if src[i] == "`":
            close = _backquote_end(src, i, self.end)
            self.substitution = True
            self.unknown()
            return close
        return self.dollar(i)

    def dollar(self, i: int) -> int:
        """A ``$`` bashlex did not report as an expansion (strings read without bashlex, or its gaps)."""
        src, end = self.src, self.end
        nxt = src[i + 1] if i + 1 < end else ""
        if src.startswith("$((", i) or nxt == "[":
            self.arithmetic = True
            self.unknown()
            return _balanced_end(src, i + 1, end)
        if nxt == "(":
            self.substitution = True
            self.unknown()
            return _balanced_end(src, i + 1, end)
        if nxt == "{":
            close = _balanced_end(src, i + 1, end, "{", "}")
            if re.search(r"[\[$`]", src[i + 2 : close]):
                self.subscript = True
            self.unknown()
            return close
        match = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-]", src[i + 1 : end])
        if match:
            self.unknown()
            return i + 1 + match.end()
        self.out.append("$")
        return i + 1

    def brace_list(self, i: int) -> int:
        """End of a brace expansion ``{a,b}`` / ``{1..9}`` starting at ``i``, or 0 when it is plain text.

        Quoted text inside counts as text (``{"rm",f}`` is the words ``rm f``), so it is skipped, not a stop."""
        depth, j, src, listed = 0, i, self.src, False
        while j < self.end:
            c = src[j]
            if c == "\\":
                j += 2
                continue
            if c in "'\"":
                close = src.find(c, j + 1, self.end)
                if close == -1:
                    return 0
                j = close
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return j + 1 if listed else 0
            elif depth == 1 and (c == "," or src.startswith("..", j)):
                listed = True
            j += 1
        return 0


def _take(src: str, i: int, end: int, allowed: str, limit: int) -> Iterator[str]:
    for c in src[i : min(end, i + limit)]:
        if c not in allowed:
            return
        yield c


def _balanced_end(src: str, i: int, end: int, open_: str = "(", close: str = ")") -> int:
    """Index after the bracket matching the one at ``i`` (quotes respected); raises when unbalanced."""
    depth = 0
    j = i
    while j < end:
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            j = src.find("'", j + 1, end)
            if j == -1:
                break
        elif c == '"':
            j += 1
            while j < end and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
        elif c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise Unreadable(f"it has an unbalanced {open_}")


def _backquote_end(src: str, i: int, end: int) -> int:
    j = i + 1
    while j < end:
        if src[j] == "\\":
            j += 2
            continue
        if src[j] == "`":
            return j + 1
        j += 1
    raise Unreadable("it has an unterminated ` quote")
