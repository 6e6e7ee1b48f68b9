"""Bash command text read the way bash reads it: every simple command, its words with the quoting removed.

The permission rules for ``bash`` match words, not characters (see docs/tools-and-permissions.md#rules):
``'rm' f``, ``\\rm f``, ``r""m f`` and ``$'\\x72m' f`` are all the word ``rm`` followed by ``f``.
bashlex gives the structure (lists, pipelines, compound commands, substitutions, redirections),
loaded with shipped parser tables (:mod:`agentshell.permissions.bashlexload`); the quote removal is
done from the source text of each word (:mod:`agentshell.permissions.bashwords`), because bashlex's
own is incomplete (``$'...'``). Whatever is only known when the command runs (a parameter, a command
substitution, a glob, a brace list) becomes :data:`ANY` in a word's text.

What cannot be read with certainty sets :attr:`ParsedScript.opaque` to the reason: bash syntax
bashlex does not parse (``[[ ]]``, ``case``, ``$(( ))``), text bashlex skipped over, arithmetic
(which can run code hidden in a variable), substitutions inside a here-document or a ``${...}``.
The rules treat such a command as matching no allow rule and every deny rule.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agentshell.permissions.bashwords import ANY, Unreadable, Word, read_word

__all__ = [
    "ANY",
    "MAX_PARSE_CHARS",
    "ParsedScript",
    "Redirect",
    "SimpleCommand",
    "Unreadable",
    "Word",
    "parse",
    "read_word",
]

MAX_PARSE_CHARS = 100_000  # the bash tool refuses longer commands; bashlex needs seconds for this much

# A here-document delimiter in quotes (<<'EOF', <<"EOF", <<\EOF): bashlex wants the quotes on the closing line too.
_QUOTED_HEREDOC = re.compile(r"<<(-?)([ \t]*)(?:(['\"])([A-Za-z0-9_.-]+)\3|(\\)([A-Za-z0-9_.-]+))")
# What an unquoted here-document body may run: substitutions, arithmetic, subscripts ($VAR alone runs nothing).
_HEREDOC_CODE = re.compile(r"\$\(|`|\$\[|\$\{[^}]*[\[$`]")
_SAFE_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
# bashlex parses with one module-level yacc parser whose state is not reentrant: two threads parsing at
# once (the REPL's worker and an ACP session, say) can leave it looping forever.
_BASHLEX_LOCK = threading.Lock()


@dataclass(frozen=True)
class Redirect:
    op: str  # ">", ">>", ">&", "<", "<<", "<<<", "&>", ...
    target: Word | int | str | None  # a file word, a descriptor number, "-" (close); None for a here-document

    @property
    def harmless(self) -> bool:
        """Duplicating or closing a descriptor, or writing to /dev/null: a prefix rule may vouch for these."""
        if self.op in (">&", "<&"):
            return isinstance(self.target, int) or self.target == "-"
        if self.op in (">", ">>", "&>", "&>>", ">|", "<") and isinstance(self.target, Word):
            return self.target.text in _SAFE_TARGETS
        return False


@dataclass(frozen=True)
class SimpleCommand:
    assignments: tuple[Word, ...]  # leading NAME=VALUE words
    words: tuple[Word, ...]  # the command word and its arguments
    nested: bool = False  # inside a substitution


@dataclass(frozen=True)
class ParsedScript:
    commands: tuple[SimpleCommand, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    substitutions: bool = False  # a command or process substitution anywhere
    heredocs: bool = False
    opaque: str = ""  # why part of the text could not be read; "" when all of it was


@functools.lru_cache(maxsize=128)
def parse(text: str) -> ParsedScript:
    """The simple commands in ``text``; never raises (what cannot be read is reported in ``opaque``)."""
    if len(text) > MAX_PARSE_CHARS:
        return ParsedScript(opaque=f"it is longer than {MAX_PARSE_CHARS} characters")
    source, quoted_heredocs = _unquote_heredoc_delimiters(text)
    try:
        from agentshell.permissions.bashlexload import load  # bashlex: imported at the first parse

        bashlex = load()
        with _BASHLEX_LOCK:
            trees = bashlex.parse(source)
    except NotImplementedError as exc:
        return ParsedScript(opaque=f"it uses bash syntax the checker does not read ({_first_line(exc)})")
    except RecursionError:
        return ParsedScript(opaque="it is nested too deeply to read")
    except Exception as exc:  # bashlex raises ParsingError, MatchedPairError and plain errors alike
        return ParsedScript(opaque=f"it could not be parsed ({_first_line(exc)})")
    reader = _Reader(source, quoted_heredocs)
    try:
        for tree in trees:
            reader.visit(tree, nested=False)
        reader.check_coverage()
    except Unreadable as exc:
        return ParsedScript(opaque=str(exc))
    except RecursionError:
        return ParsedScript(opaque="it is nested too deeply to read")
    return ParsedScript(
        commands=tuple(reader.commands),
        redirects=tuple(reader.redirects),
        substitutions=reader.substitutions,
        heredocs=reader.heredocs,
        opaque=reader.opaque,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:120]


def _unquote_heredoc_delimiters(text: str) -> tuple[str, frozenset[int]]:
    """``<<'EOF'`` as ``<< EOF `` (same length, so positions hold); returns where each such name starts.

    Replacing a pair of identical quotes around a plain name never changes what is quoted
    elsewhere, so the rest of the text reads as before.
    """
    starts: set[int] = set()

    def blank(match: re.Match[str]) -> str:
        if match.group(3):
            starts.add(match.start(4))
            return f"<<{match.group(1)}{match.group(2)} {match.group(4)} "
        starts.add(match.start(6))
        return f"<<{match.group(1)}{match.group(2)} {match.group(6)}"

    return _QUOTED_HEREDOC.sub(blank, text), frozenset(starts)


class _Reader:
    """Walks bashlex's tree: collects simple commands and redirections, and marks which text it accounted for."""

    def __init__(self, source: str, quoted_heredocs: frozenset[int]) -> None:
        self.source = source
        self.quoted_heredocs = quoted_heredocs
        self.covered = bytearray(len(source))
        self.commands: list[SimpleCommand] = []
        self.redirects: list[Redirect] = []
        self.substitutions = False
        self.heredocs = False
        self.opaque = ""

    def note(self, reason: str) -> None:
        if not self.opaque:
            self.opaque = reason

    def cover(self, start: int, end: int, value: int = 1) -> None:
        self.covered[start:end] = bytes([value]) * max(0, end - start)

    def visit(self, node: Any, *, nested: bool) -> None:
        kind = node.kind
        if kind == "command":
            self.command(node, nested=nested)
        elif kind in ("operator", "pipe", "reservedword"):
            self.cover(*node.pos)
        elif kind == "compound":
            self.compound(node, nested=nested)
        elif kind == "redirect":
            self.redirect(node, nested=nested)
        elif kind in ("word", "assignment"):
            self.word(node, nested=nested)
        else:  # list, pipeline, function, if, for, while, until...
            for child in _children(node):
                self.visit(child, nested=nested)

    def compound(self, node: Any, *, nested: bool) -> None:
        parts = list(getattr(node, "list", []))
        # bash reads "((" as arithmetic; bashlex reads two subshells
        if len(parts) >= 2 and _is_reserved(parts[0], "(") and parts[1].kind == "compound":
            inner = list(parts[1].list)
            if inner and _is_reserved(inner[0], "(") and inner[0].pos[0] == parts[0].pos[1]:
                self.note("it uses (( )) arithmetic, which can run code hidden in a variable")
        for child in parts:
            self.visit(child, nested=nested)
        for child in getattr(node, "redirects", []):
            self.visit(child, nested=nested)

    def command(self, node: Any, *, nested: bool) -> None:
        assignments: list[Word] = []
        words: list[Word] = []
        for part in node.parts:
            if part.kind == "redirect":
                self.redirect(part, nested=nested)
            elif part.kind in ("word", "assignment"):
                word = self.word(part, nested=nested)
                (assignments if part.kind == "assignment" and not words else words).append(word)
            else:
                self.visit(part, nested=nested)
        self.commands.append(SimpleCommand(tuple(assignments), tuple(words), nested))

    def word(self, node: Any, *, nested: bool) -> Word:
        start, end = node.pos
        self.cover(start, end)
        inner: dict[int, tuple[int, str]] = {}  # expansion start -> (end, kind)
        for part in _expansions(node):
            inner[part.pos[0]] = (part.pos[1], part.kind)
            if part.kind in ("commandsubstitution", "processsubstitution"):
                self.substitutions = True
                body = part.command
                self.cover(body.pos[0], body.pos[1], 0)  # the inner command accounts for its own text
                self.visit(body, nested=True)
        word = read_word(self.source, start, end, inner)
        if word.arithmetic:
            self.note("it uses arithmetic expansion, which can run code hidden in a variable")
        if word.subscript:
            self.note("it expands an array subscript or a ${...} with a substitution, which bash evaluates as code")
        return word

    def redirect(self, node: Any, *, nested: bool) -> None:
        op = node.type
        output = node.output
        heredoc = getattr(node, "heredoc", None)
        if heredoc is not None:
            self.heredocs = True
            self.cover(node.pos[0], output.pos[1])
            self.cover(*heredoc.pos)
            if output.pos[0] not in self.quoted_heredocs and _HEREDOC_CODE.search(heredoc.value):
                self.note("its here-document runs $(...), `...`, $[...] or a subscript, which is not read here")
            self.redirects.append(Redirect(op, None))
            return
        self.cover(*node.pos)
        target = output if isinstance(output, int | str) else self.word(output, nested=nested)
        self.redirects.append(Redirect(op, target))

    def check_coverage(self) -> None:
        """Text bashlex did not account for must be blanks, separators, line continuations or comments."""
        src, covered, i, n = self.source, self.covered, 0, len(self.source)
        while i < n:
            if covered[i]:
                i += 1
                continue
            c = src[i]
            if c in " \t\n;&|":
                i += 1
            elif c == "\\" and src.startswith("\n", i + 1):
                i += 2
            elif c == "#" and _starts_comment(src, i):
                end = src.find("\n", i)
                i = n if end == -1 else end
            else:
                raise Unreadable(f"part of it could not be read reliably (near {src[i : i + 20]!r})")


def _starts_comment(src: str, i: int) -> bool:
    """A ``#`` starts a comment at the start of a word: after a blank that is not escaped, or an operator."""
    if i == 0 or src[i - 1] in "\n;&|()":
        return True
    return src[i - 1] in " \t" and (i < 2 or src[i - 2] != "\\")


def _is_reserved(node: Any, word: str) -> bool:
    return bool(node.kind == "reservedword" and node.word == word)


def _children(node: Any) -> Iterator[Any]:
    for value in vars(node).values():
        if isinstance(value, list):
            yield from (v for v in value if hasattr(v, "kind"))
        elif hasattr(value, "kind"):
            yield value


def _expansions(node: Any) -> Iterator[Any]:
    """The expansions bashlex found directly in a word (not those inside a nested command)."""
    for part in getattr(node, "parts", []):
        if part.kind in ("parameter", "commandsubstitution", "processsubstitution"):
            yield part
