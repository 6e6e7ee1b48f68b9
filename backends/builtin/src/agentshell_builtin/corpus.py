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

import fnmatch
import json
import random
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Split = Literal["train", "heldout"]

# The compact system prompt the model is trained with. The shipped chat template
# renders it in place of whatever system message the caller sends: a 2M-parameter
# model with a 512-token window cannot follow the agent's full instructions.
SYSTEM_PROMPT = "You are agentshell, a coding agent. Use the tools to work with files and commands."

IM_START, IM_END, ENDOFTEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"

# ----------------------------------------------------------------------------- pools

_STEMS = (
    "main app utils parser lexer config server client model views routes cache store index api auth "
    "helpers loader reader writer report notes todo ideas plan budget invoice recipe story poem letter "
    "draft summary changelog license readme setup build deploy docker compose schema query migrate "
    "backup logger metrics stats graph chart table matrix vector point shape circle square engine "
    "player game level board score timer clock alarm calendar event task queue worker job runner "
    "shell prompt input output stream buffer packet socket router proxy gateway mailer inbox outbox "
    "cart order payment price product catalog search filter sorter merge split fetch upload download "
    "image photo video audio music song album artist movie book author chapter page word letters "
    "hello world demo sample example test spec check lint format color theme style layout widget "
    "button menu dialog window panel screen canvas sprite sound physics robot sensor motor pump"
).split()
_DIRS = (
    "src lib app tests docs notes scripts config data assets tools bin build examples pkg core web "
    "api utils models views static templates public private reports logs backup drafts music photos "
    "recipes stories work home misc archive old new temp cache vendor plugins modules cmd internal"
).split()
_WORDS = (
    "apple banana cherry delta echo falcon garden harbor island jungle kettle lemon meadow nectar ocean "
    "pepper quartz river silver tiger umbrella velvet window yellow zebra anchor bridge candle dragon "
    "ember forest glacier hammer ivory jacket kernel ladder marble needle orbit pillow quiver rocket "
    "saddle thunder unicorn valley walnut xylophone yogurt zephyr amber breeze copper desert feather "
    "granite horizon jasmine lantern mirror nickel olive prism raven shadow timber violet willow "
    "blue green red orange purple black white small large quick slow happy calm bright dark warm cold "
    "alpha beta gamma sigma omega north south east west spring summer autumn winter morning evening"
).split()
_EXTS = ("py", "txt", "md", "json", "toml", "sh", "js", "csv", "yaml", "cfg")


def _split_pool(items: tuple[str, ...] | list[str], split: Split, every: int = 5) -> list[str]:
    """Every ``every``-th item is held out; the split is fixed by position, so it never depends on the seed."""
    chosen = [x for i, x in enumerate(items) if (i % every == every - 1) == (split == "heldout")]
    return chosen


# ----------------------------------------------------------------------------- workspace


@dataclass
class Workspace:
    """A generated project on disk and what is in it."""

    root: Path
    files: list[str] = field(default_factory=list)  # workspace-relative paths, "/" separated
    dirs: list[str] = field(default_factory=list)


def _file_content(rng: random.Random, path: str) -> str:
    ext = path.rsplit(".", 1)[-1]
    w = rng.sample(_WORDS, 4)
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
    stems, dirs = _split_pool(_STEMS, split), _split_pool(_DIRS, split)
    ws = Workspace(root)
    top = rng.sample(dirs, rng.randint(1, 3))
    for d in top:
        ws.dirs.append(d)
        if rng.random() < 0.3:
            ws.dirs.append(f"{d}/{rng.choice(dirs)}")
    for d in [""] + ws.dirs:
        for _ in range(rng.randint(1 if d else 0, 4)):
            name = f"{rng.choice(stems)}.{rng.choice(_EXTS)}"
            path = f"{d}/{name}" if d else name
            if path not in ws.files:
                ws.files.append(path)
    for d in ws.dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for f in ws.files:
        (root / f).write_text(_file_content(rng, f), encoding="utf-8")
    return ws


# ----------------------------------------------------------------------------- tool operations
# These reproduce the output of agentshell's tools on the generated workspace.


def run_list_dir(root: Path, path: str) -> tuple[str, bool]:
    target = root / path
    if not target.is_dir():
        return f"Error: {path} is not a directory", True
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in target.iterdir())
    return ("\n".join(names) if names else "(empty directory)"), False


def run_read_file(root: Path, path: str) -> tuple[str, bool]:
    target = root / path
    if not target.is_file():
        return f"Error: file not found: {path}", True
    return target.read_text(encoding="utf-8").rstrip("\n"), False


def run_grep(root: Path, pattern: str, path: str) -> tuple[str, bool]:
    base = root / path
    if not base.exists():
        return f"Error: path not found: {path}", True
    files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
    regex = re.compile(pattern)
    hits = []
    for f in files:
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if regex.search(line):
                hits.append(f"{f.relative_to(root).as_posix()}:{i}:{line}")
    return ("\n".join(hits) if hits else "No matches found."), False


def run_glob(root: Path, pattern: str) -> tuple[str, bool]:
    hits = sorted(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file())
    return ("\n".join(hits) if hits else "No files found."), False


def run_write_file(root: Path, path: str, content: str) -> tuple[str, bool]:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content, encoding="utf-8")
    return f"Wrote {len(content.encode())} bytes to {path}", False


def run_edit_file(root: Path, path: str, old: str, new: str) -> tuple[str, bool]:
    target = root / path
    if not target.is_file():
        return f"Error: file not found: {path}", True
    text = target.read_text(encoding="utf-8")
    if text.count(old) != 1:
        return f"Error: old_string must occur exactly once in {path}", True
    target.write_text(text.replace(old, new), encoding="utf-8")
    return f"Edited {path}", False


def run_bash(root: Path, command: str) -> tuple[str, bool]:
    proc = subprocess.run(command, shell=True, cwd=root, capture_output=True, text=True, timeout=10)
    out = (proc.stdout + proc.stderr).rstrip("\n")
    if proc.returncode != 0:
        return f"{out}\n(exit code {proc.returncode})".strip(), True
    return out or "(no output)", False


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


_P = dict[str, tuple[str, ...]]

PHRASES: _P = {
    "list_dir": (
        "list the files in {path}", "what's in {path}?", "show me the contents of {path}", "ls {path}",
        "which files are in the {path} folder?", "can you list {path} for me?", "what does {path} contain?",
        "list {path}", "show the folder {path}", "what files are there in {path}?",
        "please list the directory {path}", "give me a listing of {path}", "tell me what is inside {path}",
        "look inside {path}", "what is in the {path} directory?",
    ),
    "read_file": (
        "read {path}", "show me {path}", "what's in {path}?", "open {path}", "cat {path}",
        "print the contents of {path}", "can you read {path} for me?", "display {path}",
        "what does {path} say?", "show the file {path}", "let me see {path}", "read the file {path} please",
        "what is written in {path}?", "dump {path}", "I want to see {path}",
    ),
    "grep": (
        "search for {pattern} in {path}", "grep {pattern} in {path}", "find {pattern} in {path}",
        "where does {pattern} appear in {path}?", "look for {pattern} in {path}",
        "which lines in {path} mention {pattern}?", "search {path} for {pattern}",
        "find the text {pattern} under {path}", "is {pattern} used anywhere in {path}?",
        "grep for {pattern} inside {path}",
    ),
    "glob": (
        "find files matching {pattern}", "glob {pattern}", "which files match {pattern}?",
        "list all files matching {pattern}", "show me the files that match {pattern}",
        "search for files named {pattern}", "what files match the pattern {pattern}?",
        "find {pattern}", "look for files like {pattern}", "are there files matching {pattern}?",
    ),
    "write_file": (
        "create a file {path} containing {content}", "write {content} to {path}",
        "make a new file {path} with the text {content}", "save {content} in {path}",
        "create {path} with {content}", "put {content} into a new file {path}",
        "write a file called {path} that says {content}", "new file {path}: {content}",
        "please create {path} and write {content} in it", "store {content} in the file {path}",
    ),
    "edit_file": (
        "in {path}, replace {old} with {new}", "change {old} to {new} in {path}",
        "edit {path}: replace {old} by {new}", "replace {old} with {new} in {path}",
        "in the file {path} change {old} into {new}", "swap {old} for {new} in {path}",
        "update {path} so that {old} becomes {new}", "rename {old} to {new} in {path}",
        "please edit {path} and change {old} to {new}", "substitute {new} for {old} in {path}",
    ),
    "bash": (
        "run {command}", "execute {command}", "run the command {command}", "please run {command}",
        "can you run {command}?", "execute the shell command {command}", "run this: {command}",
        "what does {command} print?", "run {command} in the shell", "try running {command}",
    ),
}

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


def _task(rng: random.Random, ws: Workspace, split: Split, kind: str) -> list[Turn]:
    """One request, the tool call that answers it, the real result, and the reply quoting it."""
    phrase = rng.choice(_split_pool(PHRASES[kind], split)) if kind in PHRASES else ""
    root = ws.root
    stems = _split_pool(_STEMS, split)
    if kind == "list_dir":
        path = rng.choice([*ws.dirs, *ws.dirs, "."]) if ws.dirs else "."
        if rng.random() < 0.08:
            path = rng.choice(_split_pool(_DIRS, split))
        out, err = run_list_dir(root, path)
        where = "the current folder" if path == "." else path
        answer = (
            f"{path} does not exist or is not a folder."
            if err
            else rng.choice([f"{where} contains:", f"Here are the files in {where}:", f"In {where}:"]) + "\n" + out
        )
        return [Turn("user", phrase.format(path=path)), _call("list_dir", path=path), Turn("tool", out),
                Turn("assistant", answer)]
    if kind == "read_file":
        path = rng.choice(ws.files)
        if rng.random() < 0.08:
            path = f"{rng.choice(stems)}.{rng.choice(_EXTS)}"
        out, err = run_read_file(root, path)
        answer = (
            f"The file {path} does not exist."
            if err
            else rng.choice([f"{path} contains:", f"Here is {path}:", f"The content of {path} is:"]) + "\n" + out
        )
        return [Turn("user", phrase.format(path=path)), _call("read_file", path=path), Turn("tool", out),
                Turn("assistant", answer)]
    if kind == "grep":
        f = rng.choice(ws.files)
        words = re.findall(r"[a-z]{4,}", (root / f).read_text(encoding="utf-8"))
        pattern = rng.choice(words) if words and rng.random() < 0.85 else rng.choice(_WORDS)
        path = rng.choice([f, f.rsplit("/", 1)[0] if "/" in f else ".", "."])
        out, _ = run_grep(root, pattern, path)
        answer = (
            f"I found no match for {pattern} in {path}."
            if out == "No matches found."
            else rng.choice([f"{pattern} appears here:", f"Matches for {pattern}:", f"Found {pattern} in:"]) + "\n" + out
        )
        return [Turn("user", phrase.format(pattern=pattern, path=path)), _call("grep", pattern=pattern, path=path),
                Turn("tool", out), Turn("assistant", answer)]
    if kind == "glob":
        ext = rng.choice(_EXTS)
        pattern = rng.choice([f"*.{ext}", f"**/*.{ext}", *(f"{d}/*.{ext}" for d in ws.dirs[:2])])
        out, _ = run_glob(root, pattern)
        answer = (
            f"No files match {pattern}."
            if out == "No files found."
            else rng.choice([f"Files matching {pattern}:", f"These files match {pattern}:"]) + "\n" + out
        )
        return [Turn("user", phrase.format(pattern=pattern)), _call("glob", pattern=pattern), Turn("tool", out),
                Turn("assistant", answer)]
    if kind == "write_file":
        d = rng.choice(["", *ws.dirs])
        name = f"{rng.choice(stems)}.{rng.choice(('txt', 'md', 'py', 'sh'))}"
        path = f"{d}/{name}" if d else name
        content = " ".join(rng.sample(_WORDS, rng.randint(1, 4)))
        out, _ = run_write_file(root, path, content)
        answer = rng.choice([f"I created {path} with the text: {content}", f"Done: {path} now contains {content}"])
        return [Turn("user", phrase.format(path=path, content=content)),
                _call("write_file", path=path, content=content), Turn("tool", out), Turn("assistant", answer)]
    if kind == "edit_file":
        f = rng.choice(ws.files)
        text = (root / f).read_text(encoding="utf-8")
        words = [w for w in set(re.findall(r"[A-Za-z]{4,}", text)) if text.count(w) == 1]
        old = rng.choice(sorted(words)) if words else "missing"
        new = rng.choice(_WORDS)
        out, err = run_edit_file(root, f, old, new)
        answer = (
            f"I could not edit {f}: {out.removeprefix('Error: ')}"
            if err
            else rng.choice([f"I replaced {old} with {new} in {f}.", f"Done: {old} is now {new} in {f}."])
        )
        return [Turn("user", phrase.format(path=f, old=old, new=new)),
                _call("edit_file", path=f, old_string=old, new_string=new), Turn("tool", out),
                Turn("assistant", answer)]
    if kind == "bash":
        command = rng.choice(_COMMANDS)(rng, ws)
        out, _ = run_bash(root, command)
        answer = rng.choice([f"The command printed:\n{out}", f"Output of {command}:\n{out}"])
        return [Turn("user", phrase.format(command=command)), _call("bash", command=command), Turn("tool", out),
                Turn("assistant", answer)]
    if kind == "small_talk":
        pool = _split_pool(list(SMALL_TALK), split, every=5) if split == "heldout" else list(SMALL_TALK)
        q, a = rng.choice(pool)
        return [Turn("user", q), Turn("assistant", a)]
    q = rng.choice(_split_pool(UNABLE, split))
    return [Turn("user", q), Turn("assistant", rng.choice(UNABLE_ANSWERS))]


KINDS = ("list_dir", "read_file", "grep", "glob", "write_file", "edit_file", "bash", "small_talk", "unable")
_WEIGHTS = (16, 16, 12, 8, 10, 10, 12, 6, 5)
TOOL_KINDS = KINDS[:7]


def _style(rng: random.Random, text: str) -> str:
    """Surface variety around a phrasing: capitals, please, punctuation."""
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.15 and not text.endswith("?"):
        text = "please " + text if text[0].islower() else "Please " + text[0].lower() + text[1:]
    if rng.random() < 0.15 and not text.endswith("?"):
        text += rng.choice((".", "!", " please", " thanks"))
    return text


def generate(seed: int, count: int, split: Split = "train", kinds: tuple[str, ...] = KINDS) -> Iterator[Conversation]:
    """Yield ``count`` conversations; the same seed and split always yield the same ones."""
    rng = random.Random(f"{seed}-{split}")
    weights = [w for k, w in zip(KINDS, _WEIGHTS, strict=True) if k in kinds]
    tmp = Path(tempfile.mkdtemp(prefix="agentshell-corpus-"))
    try:
        for i in range(count):
            root = tmp / str(i)
            root.mkdir()
            ws = make_workspace(rng, root, split)
            turns = [Turn("system", SYSTEM_PROMPT)]
            kind = rng.choices(kinds, weights)[0]
            first = _task(rng, ws, split, kind)
            first[0] = Turn("user", _style(rng, first[0].content))
            turns += first
            if rng.random() < 0.15:
                follow = _task(rng, ws, split, rng.choices(kinds, weights)[0])
                turns += [Turn("user", _style(rng, follow[0].content)), *follow[1:]]
            shutil.rmtree(root)
            yield Conversation(kind, tuple(turns))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
