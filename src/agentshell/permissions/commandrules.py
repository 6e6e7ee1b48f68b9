"""Whether a ``bash(...)`` rule covers a command: allow rules must vouch for every command, deny rules catch any.

Both read the command as bash does (:mod:`agentshell.permissions.bashparse`) and match a rule's
pattern against each simple command's words, joined by single spaces, quotes removed. They fail in
opposite directions when something is only known at run time:

- an **allow** rule covers a command only when every simple command in it is covered whatever
  the run-time parts turn out to be (a ``*`` must stand where they are), the command word is
  spelled out, no substitution, here-document or redirection to a file is involved, and it can
  be read completely;
- a **deny** rule stops a command when *some* value of the run-time parts would match, and also
  when the command word is decided at run time (``$x f``, ``$(echo rm) f``) or the text cannot be
  read completely. It looks through paths (``/bin/rm`` is ``rm``), leading assignments, wrappers
  that run the rest of their arguments (``command``, ``env``, ``sudo``, ``nice``, ``xargs``...) and
  code handed over as text (``bash -c``, ``eval``, ``find -exec``...).

Reading through wrappers and handed-over code multiplies the readings of a command (every word
after ``sudo`` may be where the wrapped command starts, ``watch watch watch ...`` nests), so one
command's readings are found once for all deny rules, each code text is read once, and the work
is bounded: a command with more readings than that is stopped as one that cannot be checked,
instead of holding the agent for minutes.

What neither can see: a program that does the same thing by other means (``find -delete``,
``python -c``), a copy of a program under another name, or a script file. docs/tools-and-permissions.md
says so; the OS sandbox is the answer to those.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from agentshell.permissions.bashparse import ANY, MAX_PARSE_CHARS, SimpleCommand, Word, parse

# Programs that run the rest of their arguments as a command (after their own options).
WRAPPERS = frozenset(
    {
        *("command", "builtin", "exec", "env", "nice", "nohup", "sudo", "doas", "run0", "pkexec", "timeout"),
        *("stdbuf", "ionice", "chrt", "taskset", "setsid", "flock", "unbuffer", "time", "xargs", "chroot"),
        *("runuser", "caffeinate", "strace", "ltrace", "nsenter", "unshare", "firejail", "catchsegv", "busybox"),
        *("prlimit", "numactl", "faketime", "fakeroot", "torsocks", "proxychains", "proxychains4", "setpriv"),
        *("systemd-run", "cgexec", "rlwrap", "watch", "su", "ssh-agent", "dbus-run-session", "sg", "newgrp"),
    }
)
SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh", "mksh", "ash", "yash", "rbash", "fish", "posh"})
# Builtins that evaluate an argument as a variable name or arithmetic, where 'a[$(cmd)]' runs cmd.
_NAME_EVALUATORS = frozenset(
    {"declare", "typeset", "local", "export", "readonly", "let", "printf", "read", "mapfile", "readarray"}
    | {"unset", "test", "[", "getopts", "wait", "shift", "return", "exit", "printf"}
)
_CODE_OPTIONS = {  # program -> options whose argument is a command string
    "su": ("-c", "--command"),
    "flock": ("-c", "--command"),
    "env": ("-S", "--split-string"),
    "runuser": ("-c", "--command"),
}
_SHELL_ARG_OPTIONS = frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"})
_MAX_DEPTH = 4  # code handed over as text, within code handed over as text...
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
# What a deny check may spend on one command (about a second here): the longest command the bash tool takes and
# the code it hands over, read twice over; readings (a wrapper followed by n words has n, so their words grow with
# n squared: 1,000 arguments after sudo are 500,000 words).
_MAX_PARSED_CHARS = 3 * MAX_PARSE_CHARS
_MAX_READING_WORDS = 1_000_000
_MAX_READING_CHARS = 20_000_000
_TOO_MANY_READINGS = "it can run in too many ways to check (wrappers or code handed over as text, many times over)"


@dataclass(frozen=True)
class _Opaque:
    reason: str


class _OverBudget(Exception):
    """One command's readings would take longer to find than a deny check may take."""


class _Budget:
    """What is left to spend on one command's readings, and the code texts already read (with the least depth)."""

    def __init__(self, left: list[int] | None = None) -> None:
        self.left = left if left is not None else [_MAX_PARSED_CHARS, _MAX_READING_WORDS, _MAX_READING_CHARS]
        self.read: dict[str, int] = {}

    def apart(self) -> _Budget:
        """The same allowance, its own record of texts read: an alias's readings are changed on the way out."""
        return _Budget(self.left)

    def parse(self, text: str) -> None:
        self.left[0] -= len(text)
        if self.left[0] < 0:
            raise _OverBudget

    def reading(self, words: Sequence[Word], tail: str, head: str | None = None) -> str:
        """One reading: ``words`` joined (the first spelled ``head``), for which the caller walks ``words`` again."""
        self.left[1] -= len(words)
        view = " ".join([w.text if head is None or i else head for i, w in enumerate(words)]) + tail
        self.left[2] -= len(view)
        if self.left[1] < 0 or self.left[2] < 0:
            raise _OverBudget
        return view


@dataclass(frozen=True)
class _Readings:
    views: tuple[str, ...]  # every distinct reading a deny rule should see, in the order found
    unreadable: str | None  # why part of the command cannot be read (the first reason); None when all of it can


# --------------------------------------------------------------------------- allow


def command_allowed(command: str, patterns: Sequence[str]) -> bool:
    """True when every simple command in ``command`` is covered by one of ``patterns`` whatever runs."""
    script = parse(command)
    if script.opaque or script.substitutions or script.heredocs or not script.commands:
        return False
    if not all(r.harmless for r in script.redirects):
        return False
    normalised = [normalise(p) for p in patterns]
    for cmd in script.commands:
        if not cmd.words and not cmd.assignments:
            continue  # a redirection alone, e.g. ">/dev/null": already judged harmless
        if cmd.words and (cmd.words[0].dynamic or any(c.isspace() for c in cmd.words[0].text)):
            return False  # the program must be spelled out, as one word
        if _hidden_code(cmd):
            return False
        subject = " ".join(w.text for w in (*cmd.assignments, *cmd.words))
        if not any(glob_match(p, subject, unknown="every") for p in normalised):
            return False
    return True


# --------------------------------------------------------------------------- deny


def command_denied(command: str, pattern: str) -> str | None:
    """Whether a deny rule with ``pattern`` stops ``command``.

    None: it does not. "": it names a command in it. Any other text: why the command cannot be
    checked, which stops it too (fail closed).
    """
    wanted = normalise(pattern)
    if glob_match(wanted, normalise(command), unknown="some"):
        return ""
    readings = _readings(command)
    if any(glob_match(wanted, view, unknown="some") for view in readings.views):
        return ""
    return readings.unreadable


@functools.lru_cache(maxsize=2)  # the gate checks one command against each deny rule in turn
def _readings(command: str) -> _Readings:
    """The readings of ``command`` for every deny rule (the gate checks one rule after another)."""
    views: dict[str, None] = {}
    unreadable: str | None = None
    try:
        for view in _views_of_text(command, 0, _Budget()):
            if isinstance(view, _Opaque):
                unreadable = unreadable or view.reason
            else:
                views.setdefault(view)
    except _OverBudget:
        unreadable = unreadable or _TOO_MANY_READINGS
    return _Readings(tuple(views), unreadable)


def _views_of_text(text: str, depth: int, budget: _Budget) -> Iterator[str | _Opaque]:
    """Every way of reading each command in ``text`` that a deny rule should see, or why it cannot be read."""
    if depth > _MAX_DEPTH:
        yield _Opaque("it hands code over as text too many times over to follow")
        return
    if budget.read.get(text, _MAX_DEPTH + 1) <= depth:
        return  # read already, as deep or deeper: the same readings again
    budget.read[text] = depth
    budget.parse(text)
    script = parse(text)
    if script.opaque:
        yield _Opaque(script.opaque)
    for cmd in script.commands:
        if _hidden_code(cmd):
            yield _Opaque("it passes $(...) or `...` as text to a builtin that evaluates it")
        yield from _views(cmd.words, depth, budget)


def _views(words: Sequence[Word], depth: int, budget: _Budget) -> Iterator[str | _Opaque]:
    """The command as written, by its program's base name, and past each wrapper (every later non-option word
    may be where the wrapped command starts: over-reading is safe for a deny rule)."""
    if not words:
        return
    starts: list[tuple[int, bool]] = [(0, False)]  # (first word, whether xargs appends what it reads)
    seen = {(0, False)}
    while starts:
        start, appended = starts.pop()
        rest = words[start:]
        head = rest[0]
        if head.dynamic:
            yield _Opaque(f"its command word ({head.raw or '?'}) is only known when it runs")
            continue
        tail = " " + ANY if appended else ""
        yield budget.reading(rest, tail)
        name = head.text.rsplit("/", 1)[-1]
        for spelled in {name, name.casefold()} - {head.text}:
            yield budget.reading(rest, tail, spelled)
        program = name.casefold()
        if program in WRAPPERS:
            for j in range(start + 1, len(words)):
                key = (j, appended or program == "xargs")
                if key not in seen and not _is_option(words[j], program):
                    seen.add(key)
                    starts.append(key)
        yield from _handed_over(program, rest, depth, budget)


def _handed_over(program: str, words: Sequence[Word], depth: int, budget: _Budget) -> Iterator[str | _Opaque]:
    """Commands a program runs from its arguments as text: ``bash -c``, ``eval``, ``find -exec``..."""
    args = list(words[1:])
    code: list[Word] = []
    if program in SHELLS:
        found, script = _shell_code(args)
        if found is not None:
            code.append(found)
        elif script is None or _from_input(script):
            yield _Opaque(f"{program} runs code it reads from its input")
    elif program in ("source", "."):
        if not args or _from_input(args[0]):
            yield _Opaque(f"{program} runs code it reads from its input")
    elif (program == "hash" and any(w.text.startswith("-") and "p" in w.text for w in args)) or (
        program == "enable" and any(w.text.startswith("-") and "f" in w.text for w in args)
    ):
        yield _Opaque(f"{program} makes a command name run another program")
    elif program in ("eval", "watch"):
        if program == "watch":
            args = _after_options(args, takes_value={"-n", "--interval", "-d", "--differences", "-q"})
        if args:
            code.append(Word(" ".join(w.text for w in args), " ".join(w.raw for w in args)))
    elif program == "trap" and args and not args[0].text.startswith("-"):
        code.append(args[0])
    elif program == "alias":  # the alias is used later with arguments of its own
        for word in (w for w in args if "=" in w.text):
            value = word.text.split("=", 1)[1]
            if ANY in value:
                yield _Opaque(f"alias defines a command that is only known when it runs ({word.raw})")
                continue
            for view in _views_of_text(value, depth + 1, budget.apart()):
                yield view if isinstance(view, _Opaque) else f"{view} {ANY}"
    elif program == "find":
        yield from _find_exec(args, depth, budget)
    for option in _CODE_OPTIONS.get(program, ()):
        code.extend(_option_values(args, option))
    for text in code:
        if text.dynamic:
            yield _Opaque(f"{program} runs code that is only known when it runs ({text.raw or '?'})")
        else:
            yield from _views_of_text(text.text, depth + 1, budget)


def _shell_code(args: Sequence[Word]) -> tuple[Word | None, Word | None]:
    """(the ``-c`` string, None) for ``bash -c``; (None, the script operand) otherwise, None when it reads its input."""
    command_mode = False
    i = 0
    while i < len(args):
        text = args[i].text
        if text in _SHELL_ARG_OPTIONS:
            i += 2
            continue
        if text == "--":
            i += 1
            break
        if len(text) > 1 and text[0] in "-+" and not text.startswith("--"):
            command_mode = command_mode or "c" in text[1:]
            if "s" in text[1:] and not command_mode:
                return None, None
            i += 1
            continue
        if text.startswith("--"):
            i += 1
            continue
        break
    if command_mode:
        return (args[i] if i < len(args) else Word("")), None
    return None, (args[i] if i < len(args) else None)


def _from_input(script: Word) -> bool:
    """A script operand that is really a stream: ``<(...)``, ``/dev/stdin``, ``/dev/fd/N``, ``-``."""
    text = script.text
    return script.dynamic or text in ("-", "/dev/stdin") or text.startswith(("/dev/fd/", "/proc/"))


def _find_exec(args: Sequence[Word], depth: int, budget: _Budget) -> Iterator[str | _Opaque]:
    i = 0
    while i < len(args):
        if args[i].text in ("-exec", "-execdir", "-ok", "-okdir"):
            end = i + 1
            while end < len(args) and args[end].text not in (";", "+"):
                end += 1
            yield from _views(args[i + 1 : end], depth, budget)
            i = end
        i += 1


def _option_values(args: Sequence[Word], option: str) -> Iterator[Word]:
    for i, word in enumerate(args):
        if word.text == option and i + 1 < len(args):
            yield args[i + 1]
        elif option.startswith("--") and word.text.startswith(option + "="):
            yield Word(word.text.split("=", 1)[1], word.raw)
        elif not option.startswith("--") and word.text.startswith(option) and len(word.text) > len(option):
            yield Word(word.text[len(option) :], word.raw)


def _after_options(args: Sequence[Word], takes_value: set[str]) -> list[Word]:
    i = 0
    while i < len(args) and args[i].text.startswith("-") and not args[i].dynamic:
        i += 2 if args[i].text in takes_value else 1
    return list(args[i:])


def _is_option(word: Word, program: str) -> bool:
    if word.dynamic:
        return False
    if word.text.startswith("-") and word.text != "-":
        return True
    return program == "env" and bool(_ASSIGNMENT.match(word.text))


def _hidden_code(cmd: SimpleCommand) -> bool:
    """'a[$(cmd)]' is text to bashlex and code to bash, where bash evaluates a name or a subscript."""
    words = cmd.words
    evaluates = bool(words) and not words[0].dynamic and words[0].text.rsplit("/", 1)[-1] in _NAME_EVALUATORS
    for word in (*cmd.assignments, *words):
        risky = "$(" in word.text or "`" in word.text
        if risky and (evaluates or "[" in word.text.split("=", 1)[0]):
            return True
    return False


# --------------------------------------------------------------------------- matching


def normalise(text: str) -> str:
    """Runs of whitespace as one space: ``git  status`` and ``git status`` are one command to a rule."""
    return " ".join(text.split())


def glob_match(pattern: str, text: str, *, unknown: str) -> bool:
    """fnmatch's ``*``, ``?`` and ``[...]``, where ANY in ``text`` stands for text known only at run time.

    ``unknown="some"``: true when some value of the unknown parts matches (for deny rules);
    ``unknown="every"``: true only when every value does, i.e. a ``*`` absorbs it (for allow rules).
    """
    if ANY not in text:
        return fnmatch.fnmatchcase(text, pattern)
    tokens = _tokens(pattern)
    end = len(tokens)
    states = _closure(tokens, {0})
    for ch in text:
        if ch == ANY:
            if unknown == "some":  # any run of tokens can match some text
                states = set(range(min(states), end + 1))
            else:
                states = {i for i in states if i < end and tokens[i] == "*"}
        else:
            nxt: set[int] = set()
            for i in states:
                if i == end:
                    continue
                token = tokens[i]
                if token == "*":
                    nxt.add(i)
                elif _token_matches(token, ch):
                    nxt.add(i + 1)
            states = nxt
        states = _closure(tokens, states)
        if not states:
            return False
    return end in states


@functools.lru_cache(maxsize=256)
def _tokens(pattern: str) -> tuple[str, ...]:
    """``*``, ``?``, a one-character literal, or a class written ``[...]`` (kept whole)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "[":
            j = i + 1
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j < n:
                out.append(pattern[i : j + 1])
                i = j + 1
                continue
            out.append("\\[")  # an unclosed [ is a plain character
        elif c == "*":
            if not out or out[-1] != "*":
                out.append("*")
        else:
            out.append(c if c != "\\" else "\\\\")
        i += 1
    return tuple(out)


def _token_matches(token: str, ch: str) -> bool:
    if token == "?":
        return True
    if len(token) == 1:
        return token == ch
    if token in ("\\[", "\\\\"):
        return ch == token[1]
    body = token[1:-1]
    negate = body.startswith("!")
    if negate:
        body = body[1:]
    inside = False
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            inside = inside or body[i] <= ch <= body[i + 2]
            i += 3
        else:
            inside = inside or body[i] == ch
            i += 1
    return inside != negate


def _closure(tokens: tuple[str, ...], states: set[int]) -> set[int]:
    """A ``*`` may match nothing: being before it is also being after it."""
    out = set(states)
    for i in sorted(states):
        j = i
        while j < len(tokens) and tokens[j] == "*":
            j += 1
            out.add(j)
    return out
