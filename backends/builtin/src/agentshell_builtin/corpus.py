"""The reproducible agent-conversation corpus the shipped model is trained on.

Every conversation is real: a small project is generated in a temporary folder,
the requested operation is really performed there (files read, searched,
written, edited; commands run in a subprocess), and the assistant's answer is
built from that output. Phrasings and file names are split into a training and
a held-out pool, so the held-out set measures whether the model copies
arguments and results rather than remembering them.

Sections: vocabulary pools → workspace → tool operations → tasks → rendering.
"""

from __future__ import annotations

import functools
import json
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from agentshell_builtin.phrasings import PHRASES, Split, phrasings

T = TypeVar("T")

# The compact system prompt the model is trained with. The shipped chat template
# renders it in place of whatever system message the caller sends: a 2M-parameter
# model with a 512-token window cannot follow the agent's full instructions.
SYSTEM_PROMPT = "You are agentshell, a coding agent. Use the tools to work with files and commands."

IM_START, IM_END, ENDOFTEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"

# ----------------------------------------------------------------------------- pools

_STEMS = [
    "main", "app", "utils", "parser", "lexer", "config", "server", "client", "model", "views", "routes", "cache",
    "store", "index", "api", "auth", "helpers", "loader", "reader", "writer", "report", "notes", "todo", "ideas",
    "plan", "budget", "invoice", "recipe", "story", "poem", "letter", "draft", "summary", "changelog", "license",
    "readme", "setup", "build", "deploy", "docker", "compose", "schema", "query", "migrate", "backup", "logger",
    "metrics", "stats", "graph", "chart", "table", "matrix", "vector", "point", "shape", "circle", "square", "engine",
    "player", "game", "level", "board", "score", "timer", "clock", "alarm", "calendar", "event", "task", "queue",
    "worker", "job", "runner", "shell", "prompt", "input", "output", "stream", "buffer", "packet", "socket", "router",
    "proxy", "gateway", "mailer", "inbox", "outbox", "cart", "order", "payment", "price", "product", "catalog",
    "search", "filter", "sorter", "merge", "split", "fetch", "upload", "download", "image", "photo", "video", "audio",
    "music", "song", "album", "artist", "movie", "book", "author", "chapter", "page", "word", "letters", "hello",
    "world", "demo", "sample", "example", "test", "spec", "check", "lint", "format", "color", "theme", "style",
    "layout", "widget", "button", "menu", "dialog", "window", "panel", "screen", "canvas", "sprite", "sound",
    "physics", "robot", "sensor", "motor", "pump"
]
_DIRS = [
    "src", "lib", "app", "tests", "docs", "notes", "scripts", "config", "data", "assets", "tools", "bin", "build",
    "examples", "pkg", "core", "web", "api", "utils", "models", "views", "static", "templates", "public", "private",
    "reports", "logs", "backup", "drafts", "music", "photos", "recipes", "stories", "work", "home", "misc", "archive",
    "old", "new", "temp", "cache", "vendor", "plugins", "modules", "cmd", "internal"
]
# Words of the system prompt and the chat template, as training folder names only: a folder called
# agentshell or user must be copied like any other name, not mistaken for the prompt the model reads it
# next to. They are not split: the held-out set measures names the model never saw, and these it must see.
_PROMPT_WORDS = ("agent", "agentshell", "coding", "commands", "files", "user", "system", "assistant")
_WORDS = [
    "apple", "banana", "cherry", "delta", "echo", "falcon", "garden", "harbor", "island", "jungle", "kettle", "lemon",
    "meadow", "nectar", "ocean", "pepper", "quartz", "river", "silver", "tiger", "umbrella", "velvet", "window",
    "yellow", "zebra", "anchor", "bridge", "candle", "dragon", "ember", "forest", "glacier", "hammer", "ivory",
    "jacket", "kernel", "ladder", "marble", "needle", "orbit", "pillow", "quiver", "rocket", "saddle", "thunder",
    "unicorn", "valley", "walnut", "xylophone", "yogurt", "zephyr", "amber", "breeze", "copper", "desert", "feather",
    "granite", "horizon", "jasmine", "lantern", "mirror", "nickel", "olive", "prism", "raven", "shadow", "timber",
    "violet", "willow", "blue", "green", "red", "orange", "purple", "black", "white", "small", "large", "quick",
    "slow", "happy", "calm", "bright", "dark", "warm", "cold", "alpha", "beta", "gamma", "sigma", "omega", "north",
    "south", "east", "west", "spring", "summer", "autumn", "winter", "morning", "evening"
]
_EXTS = ("py", "txt", "md", "json", "toml", "sh", "js", "csv", "yaml", "cfg")


_CONSONANTS, _VOWELS = "bcdfghjklmnprstvwxz", "aeiouy"
_ONSETS = ("st", "pr", "tr", "ch", "sh", "th", "bl", "cr", "dr", "fl", "gr", "pl", "sp", "sc", "wh", "qu")
_CODAS = ("ck", "ss", "ll", "nd", "ng", "nt", "rs", "st", "ts", "x", "rk", "mp", "s", "r", "n", "t", "c")
# letters roughly as often as in English file names, for the random-letter names
_LETTERS = "eeeeeettttaaaaoooiiinnnsssrrrhhlllddcccuummfpgwybvkjxqz"


def invented_word(rng: random.Random) -> str:
    """A made-up name ("tovak", "scrint", "qefh", "rolu_7") the model cannot have memorized.

    Several shapes, because a model that only ever copied consonant-vowel syllables learns to copy those
    and mangles "docs" or "assets": the names must cover the letter patterns real names have.
    """
    shape = rng.random()
    if shape < 0.15:
        return _fragment(rng)
    if shape < 0.75:
        return _plain_word(rng, shape < 0.4)
    if shape < 0.9:  # two parts: "rolu_data", "kest-v2"
        second = str(rng.randint(1, 20)) if rng.random() < 0.3 else _plain_word(rng, rng.random() < 0.5)
        return _plain_word(rng, rng.random() < 0.5) + rng.choice("_-") + second
    return _plain_word(rng, rng.random() < 0.5) + str(rng.randint(0, 99))  # with digits: "tovak3"


def _plain_word(rng: random.Random, syllables: bool) -> str:
    if syllables:  # syllables with clusters: "scrint", "blomeck"
        word = "".join((rng.choice(_ONSETS) if rng.random() < 0.3 else rng.choice(_CONSONANTS)) + rng.choice(_VOWELS)
                       for _ in range(rng.randint(1, 3)))
        word = (rng.choice(_VOWELS) if rng.random() < 0.2 else "") + word
        return word + (rng.choice(_CODAS) if rng.random() < 0.6 else "")
    return "".join(rng.choice(_LETTERS) for _ in range(rng.randint(2, 8)))  # random letters: "qefh"


# Answer wording of the tasks below: with the system prompt and the phrasings, the text the model reads
# around every name, whose words the fragments are cut from.
_ANSWER_WORDS = (
    "contains here are the files in found no match for appears matches these files match matching wrote with "
    "the text done now contains replaced is now the command printed output of current folder content that did "
    "not work could not unknown error"
)


@functools.cache
def _lexicon() -> tuple[tuple[str, ...], frozenset[str]]:
    """(words to cut fragments from, held-out names a fragment must never equal)."""
    text = " ".join([SYSTEM_PROMPT, _ANSWER_WORDS, *(a for _, a in SMALL_TALK), *UNABLE_ANSWERS,
                     *(p for kind in PHRASES for p in phrasings(kind, "train"))])
    pools = (_DIRS, _STEMS, _WORDS)
    words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}
    words.update(w for pool in pools for w in _split_pool(pool, "train"))
    held = frozenset(w for pool in pools for w in _split_pool(pool, "heldout"))
    return tuple(sorted(words - held)), held


def _fragment(rng: random.Random) -> str:
    """A piece of a word the model reads every day ("templ" of "templates", "ound" of "found", "commands").

    Such pieces are tokens of their own that otherwise only ever occur inside their word or phrase, so
    their embeddings never learn to be copied: a held-out name made of them ("temp", "sound") came out
    as whatever token sat nearby. Fragments equal to a held-out name are drawn again.
    """
    words, held = _lexicon()
    for _ in range(20):
        w = rng.choice(words)
        n = rng.randint(3, len(w))
        start = rng.randint(0, len(w) - n)
        piece = w[start : start + n]
        if piece not in held:
            return piece
    return _plain_word(rng, True)


# Share of training names and words that are invented rather than taken from the pools. With only a
# hundred real stems a small model lowers its loss by guessing a likely name; invented ones leave it
# nothing to do but copy the name from the request or the tool result, which is what generalizes.
INVENTED_SHARE = 0.65


def _pick(rng: random.Random, pool: Sequence[str], split: Split) -> str:
    invent = rng.random() < INVENTED_SHARE
    return invented_word(rng) if invent and split == "train" else rng.choice(_split_pool(pool, split))


def _folder(rng: random.Random, split: Split) -> str:
    if split == "train" and rng.random() < 0.05:
        return rng.choice(_PROMPT_WORDS)
    return _pick(rng, _DIRS, split)


def _split_pool(items: Sequence[T], split: Split, every: int = 5) -> list[T]:
    """Every ``every``-th item is held out; the split is fixed by position, so it never depends on the seed."""
    return [x for i, x in enumerate(items) if (i % every == every - 1) == (split == "heldout")]


# ----------------------------------------------------------------------------- workspace


@dataclass
class Workspace:
    """A generated project on disk and what is in it."""

    root: Path
    files: list[str] = field(default_factory=list)  # workspace-relative paths, "/" separated
    dirs: list[str] = field(default_factory=list)


def _file_content(rng: random.Random, path: str, split: Split) -> str:
    ext = path.rsplit(".", 1)[-1]
    w = [_pick(rng, _WORDS, split) if rng.random() < 0.6 else rng.choice(_WORDS) for _ in range(4)]
    n = rng.randint(1, 99)
    if ext == "py":
        return rng.choice([f"def {w[0]}():\n    return {n}\n", f"{w[0].upper()} = {n}\nprint('{w[1]} {w[2]}')\n"])
    if ext == "md":
        return rng.choice([f"# {w[0].title()} {w[1]}\n\n{w[2]} {w[3]}.\n", f"- {w[0]}\n- {w[1]}\n- {w[2]}\n"])
    if ext in ("json",):
        return f'{{"{w[0]}": {n}, "{w[1]}": "{w[2]}"}}\n'
    if ext in ("toml", "cfg", "yaml"):
        sep = ": " if ext == "yaml" else " = "
        return f"{w[0]}{sep}{n}\n{w[1]}{sep}{w[2]}\n"
    if ext == "sh":
        return f"echo {w[0]} {w[1]}\n"
    if ext == "js":
        return f"const {w[0]} = {n};\nconsole.log('{w[1]}');\n"
    if ext == "csv":
        return f"name,count\n{w[0]},{n}\n{w[1]},{n + 3}\n"
    return rng.choice([f"{w[0]} {w[1]} {w[2]}\n", f"{w[0]} {w[1]}\n{w[2]} {w[3]}\n", f"{w[0]} and {w[1]}\n"])


def make_workspace(rng: random.Random, root: Path, split: Split) -> Workspace:
    """A few folders with a few short files each, named from the split's pools."""
    ws = Workspace(root)
    top = sorted({_folder(rng, split) for _ in range(rng.randint(1, 3))})
    for d in top:
        ws.dirs.append(d)
        if rng.random() < 0.3:
            ws.dirs.append(f"{d}/{_folder(rng, split)}")
    for d in ["", *ws.dirs]:
        nested = any(x.startswith(f"{d}/") for x in ws.dirs) if d else False
        # a folder holding only a subfolder (src/ with just src/agentshell/) lists as one directory entry
        count = 0 if nested and rng.random() < 0.4 else rng.randint(1 if d else 0, 4)
        for _ in range(count):
            name = f"{_pick(rng, _STEMS, split)}.{rng.choice(_EXTS)}"
            path = f"{d}/{name}" if d else name
            if path not in ws.files:
                ws.files.append(path)
    for d in ws.dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for f in ws.files:
        (root / f).write_text(_file_content(rng, f, split), encoding="utf-8")
    return ws


# ----------------------------------------------------------------------------- tool operations


class ToolBox:
    """agentshell's own tools, run without asking, so every result is byte-for-byte what the agent would return."""

    def __init__(self, root: Path) -> None:
        from agentshell.permissions import PermissionGate
        from agentshell.tools import ToolContext, ToolRunner, default_tools

        self.runner = ToolRunner(default_tools(), ToolContext(root.resolve(), bash_timeout=10.0),
                                 PermissionGate("yolo", root.resolve()))

    def __call__(self, name: str, **arguments: str) -> tuple[str, bool]:
        result = self.runner.execute(name, arguments)
        return result.output, result.is_error


def _strip_line_numbers(read_output: str) -> str:
    """read_file numbers its lines like ``cat -n``; answers quote the text without them."""
    return "\n".join(line.split("\t", 1)[1] if "\t" in line else line for line in read_output.splitlines())


FAILURE_INTROS = ("That did not work: ", "I could not do that: ")


def _failure(rng: random.Random, output: str) -> str:
    reason = output.splitlines()[0].removeprefix("error: ") if output else "unknown error"
    return rng.choice(FAILURE_INTROS) + reason


# ----------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Turn:
    role: str  # system, user, assistant, tool
    content: str
    tool_call: dict[str, Any] | None = None  # on assistant turns: {"name": ..., "arguments": {...}}


@dataclass(frozen=True)
class Conversation:
    kind: str  # which task family produced it
    turns: tuple[Turn, ...]


SMALL_TALK: tuple[tuple[str, str], ...] = (
    ("hi", "Hello! I can list folders, read, search, create and edit files, and run commands here."),
    ("hello", "Hello! What should I do in this workspace?"),
    ("hey there", "Hi! Ask me to read, search or edit files, or to run a command."),
    ("thanks", "You're welcome!"),
    ("thank you!", "You're welcome! Anything else?"),
    ("who are you?", "I am agentshell, a small coding agent. I work with the files and commands of this workspace."),
    ("what can you do?", "I can list folders, read files, search text, create and edit files, and run commands."),
    ("how are you?", "I'm fine, thanks! What should I do?"),
    ("good morning", "Good morning! How can I help with this workspace?"),
    ("bye", "Goodbye!"),
    ("what is your name?", "My name is agentshell."),
    ("are you there?", "Yes, I'm here. What should I do?"),
    ("help", "Ask me to list a folder, read or search files, create or edit a file, or run a command."),
    ("ok", "OK. Tell me what to do next."),
    ("nice work", "Thank you!"),
)

UNABLE: tuple[str, ...] = (
    "book a flight to Paris", "what's the weather tomorrow?", "send an email to my boss", "order a pizza",
    "call my mom", "what is the price of bitcoin today?", "buy me a new laptop", "play some music",
    "turn off the lights", "post this on twitter", "translate this video", "drive me home",
    "set an alarm for 7am", "text Alice that I'm late", "show me today's news", "pay my bills",
    "open my bank account", "take a photo", "find a restaurant near me", "download the internet",
)
UNABLE_ANSWERS = (
    "Sorry, I can't do that. I can only work with the files and commands in this workspace.",
    "I can't do that: my tools only read, search and edit files and run commands here.",
)

_COMMANDS: tuple[Callable[[random.Random, Workspace], str], ...] = (
    lambda r, ws: f"echo {r.choice(_WORDS)}",
    lambda r, ws: f"echo {r.choice(_WORDS)} {r.choice(_WORDS)}",
    lambda r, ws: f"ls {r.choice(ws.dirs)}" if ws.dirs else "ls",
    lambda r, ws: f"cat {r.choice(ws.files)}",
    lambda r, ws: f"wc -l < {r.choice(ws.files)}",
    lambda r, ws: f"head -n 1 {r.choice(ws.files)}",
    lambda r, ws: "ls",
    lambda r, ws: f"expr {r.randint(1, 50)} + {r.randint(1, 50)}",
)


def _call(name: str, **arguments: str) -> Turn:
    return Turn("assistant", "", {"name": name, "arguments": arguments})


def _task(rng: random.Random, ws: Workspace, split: Split, kind: str, tools: ToolBox) -> list[Turn]:
    """One request, the tool call that answers it, the real result, and the reply quoting it."""
    phrase = rng.choice(phrasings(kind, split)) if kind in PHRASES else ""
    root = ws.root

    def exchange(request: str, name: str, answer_ok: Callable[[str], str], **args: str) -> list[Turn]:
        out, err = tools(name, **args)
        answer = _failure(rng, out) if err else answer_ok(out)
        return [Turn("user", request), _call(name, **args), Turn("tool", out), Turn("assistant", answer)]

    if kind == "list_dir":
        path = rng.choice([*ws.dirs, *ws.dirs, "."]) if ws.dirs else "."
        if rng.random() < 0.06:
            path = _pick(rng, _DIRS, split)
        where = "the current folder" if path == "." else path
        intro = rng.choice([f"{where} contains:", f"Here are the files in {where}:", f"In {where}:"])
        return exchange(phrase.format(path=path), "list_dir", lambda out: f"{intro}\n{out}", path=path)
    if kind == "read_file":
        path = rng.choice(ws.files)
        if rng.random() < 0.06:
            path = f"{_pick(rng, _STEMS, split)}.{rng.choice(_EXTS)}"
        intro = rng.choice([f"{path} contains:", f"Here is {path}:", f"The content of {path} is:"])
        return exchange(phrase.format(path=path), "read_file", lambda out: f"{intro}\n{_strip_line_numbers(out)}",
                        path=path)
    if kind == "grep":
        f = rng.choice(ws.files)
        words = re.findall(r"[a-z]{4,}", (root / f).read_text(encoding="utf-8"))
        pattern = rng.choice(words) if words and rng.random() < 0.85 else _pick(rng, _WORDS, split)
        path = rng.choice([f, f.rsplit("/", 1)[0] if "/" in f else ".", "."])

        def grep_answer(out: str) -> str:
            if out.startswith("No matches"):
                return f"I found no match for {pattern} in {path}."
            intro = rng.choice([f"{pattern} appears here:", f"Matches for {pattern}:", f"Found {pattern} in:"])
            return f"{intro}\n{out}"

        return exchange(phrase.format(pattern=pattern, path=path), "grep", grep_answer, pattern=pattern, path=path)
    if kind == "glob":
        ext = rng.choice(_EXTS)
        pattern = rng.choice([f"*.{ext}", f"**/*.{ext}", *(f"{d}/*.{ext}" for d in ws.dirs[:2])])

        def glob_answer(out: str) -> str:
            if out.startswith("No files match"):
                return f"No files match {pattern}."
            return rng.choice([f"Files matching {pattern}:", f"These files match {pattern}:"]) + "\n" + out

        return exchange(phrase.format(pattern=pattern), "glob", glob_answer, pattern=pattern)
    if kind == "write_file":
        d = rng.choice(["", *ws.dirs])
        name = f"{_pick(rng, _STEMS, split)}.{rng.choice(('txt', 'md', 'py', 'sh'))}"
        path = f"{d}/{name}" if d else name
        content = " ".join(_pick(rng, _WORDS, split) for _ in range(rng.randint(1, 4)))
        answer = rng.choice([f"I wrote {path} with the text: {content}", f"Done: {path} now contains {content}"])
        return exchange(phrase.format(path=path, content=content), "write_file", lambda out: answer,
                        path=path, content=content)
    if kind == "edit_file":
        f = rng.choice(ws.files)
        text = (root / f).read_text(encoding="utf-8")
        words = [w for w in set(re.findall(r"[A-Za-z]{4,}", text)) if text.count(w) == 1]
        old = rng.choice(sorted(words)) if words and rng.random() < 0.95 else _pick(rng, _WORDS, split)
        new = _pick(rng, _WORDS, split)
        answer = rng.choice([f"I replaced {old} with {new} in {f}.", f"Done: {old} is now {new} in {f}."])
        return exchange(phrase.format(path=f, old=old, new=new), "edit_file", lambda out: answer,
                        path=f, old_string=old, new_string=new)
    if kind == "bash":
        command = rng.choice(_COMMANDS)(rng, ws)

        def bash_answer(out: str) -> str:
            body = out.rsplit("\n[", 1)[0] if out.endswith("]") else out
            return rng.choice([f"The command printed:\n{body}", f"Output of {command}:\n{body}"])

        return exchange(phrase.format(command=command), "bash", bash_answer, command=command)
    if kind == "small_talk":
        # small talk is not split: its answers are fixed, so there is nothing to generalize to
        pool = list(SMALL_TALK)
        q, a = rng.choice(pool)
        return [Turn("user", q), Turn("assistant", a)]
    q = rng.choice(_split_pool(UNABLE, split))
    return [Turn("user", q), Turn("assistant", rng.choice(UNABLE_ANSWERS))]


KINDS = ("list_dir", "read_file", "grep", "glob", "write_file", "edit_file", "bash", "small_talk", "unable")
_WEIGHTS = (16, 16, 12, 8, 10, 10, 12, 6, 5)
TOOL_KINDS = KINDS[:7]


def _style(rng: random.Random, text: str) -> str:
    """Some requests start with a capital; openers, please and punctuation come from the phrasings."""
    return text[0].upper() + text[1:] if rng.random() < 0.3 else text


def conversation(seed: int, index: int, split: Split = "train", kinds: tuple[str, ...] = KINDS,
                 scratch: Path | None = None) -> Conversation:
    """Conversation number ``index`` of a corpus: its own random stream, so any one can be rebuilt alone."""
    rng = random.Random(f"{seed}-{split}-{index}")
    weights = [w for k, w in zip(KINDS, _WEIGHTS, strict=True) if k in kinds]
    root = Path(tempfile.mkdtemp(prefix="ws-", dir=scratch))
    try:
        ws = make_workspace(rng, root, split)
        tools = ToolBox(root)
        kind = rng.choices(kinds, weights)[0]
        first = _task(rng, ws, split, kind, tools)
        turns = [Turn("system", SYSTEM_PROMPT), Turn("user", _style(rng, first[0].content)), *first[1:]]
        if rng.random() < 0.15:
            follow = _task(rng, ws, split, rng.choices(kinds, weights)[0], tools)
            turns += [Turn("user", _style(rng, follow[0].content)), *follow[1:]]
        return Conversation(kind, tuple(turns))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def generate(seed: int, count: int, split: Split = "train", kinds: tuple[str, ...] = KINDS,
             workers: int = 4) -> Iterator[Conversation]:
    """Yield ``count`` conversations in order; the same seed and split always yield the same ones.

    Most of the time goes to waiting on tool subprocesses, so a few threads overlap that waiting.
    """
    from concurrent.futures import ThreadPoolExecutor

    scratch = Path(tempfile.mkdtemp(prefix="agentshell-corpus-"))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(lambda i: conversation(seed, i, split, kinds, scratch), range(count))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ----------------------------------------------------------------------------- rendering


def tool_call_text(call: dict[str, Any]) -> str:
    """The tool-call text format of ARCHITECTURE.md, arguments in the order of the tool's schema."""
    body = json.dumps({"name": call["name"], "arguments": call["arguments"]}, ensure_ascii=False)
    return f"<tool_call>\n{body}\n</tool_call>"


def render_segments(conv: Conversation) -> list[tuple[str, bool]]:
    """ChatML text cut into (text, trained?) pieces: only what the assistant writes is trained on.

    Tool results go back in a user turn wrapped in ``<tool_response>``, as Qwen2.5 and
    Hermes templates do, so the text is the same whichever way a caller sends them.
    """
    segs: list[tuple[str, bool]] = []
    for turn in conv.turns:
        if turn.role == "tool":
            segs.append((f"{IM_START}user\n<tool_response>\n{turn.content}\n</tool_response>{IM_END}\n", False))
        elif turn.role == "assistant":
            body = tool_call_text(turn.tool_call) if turn.tool_call else turn.content
            segs.append((f"{IM_START}assistant\n", False))
            segs.append((f"{body}{IM_END}", True))
            segs.append(("\n", False))
        else:
            segs.append((f"{IM_START}{turn.role}\n{turn.content}{IM_END}\n", False))
    return segs


def render(conv: Conversation) -> str:
    return "".join(text for text, _ in render_segments(conv))


def write_corpus(path: Path, seed: int, count: int, split: Split = "train") -> int:
    """Write conversations as JSON lines of segments; returns the number written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for conv in generate(seed, count, split):
            fh.write(json.dumps({"kind": conv.kind, "segments": render_segments(conv)}, ensure_ascii=False) + "\n")
            n += 1
    return n


def encode_segments(
    segments: list[tuple[str, bool]], encode: Callable[[str], list[int]]
) -> tuple[list[int], list[float]]:
    """Token ids of a rendered conversation and, per token, 1.0 where the model is trained to produce it.

    Segments end at pre-token boundaries (after a newline or a control token), so
    encoding them one by one gives the same ids as encoding the whole text.
    """
    ids: list[int] = []
    weight: list[float] = []
    for text, trained in segments:
        part = encode(text)
        ids += part
        weight += [1.0 if trained else 0.0] * len(part)
    return ids, weight
