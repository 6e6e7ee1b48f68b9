"""The reproducible agent-conversation corpus the shipped model is trained on.

Every conversation is real: a small project is generated in a temporary folder,
the requested operation is really performed there (files read, searched,
written, edited; commands run in a subprocess), and the assistant's answer is
built from that output. Phrasings and file names are split into a training and
a held-out pool, so the held-out set measures whether the model copies
arguments and results rather than remembering them.

Sections: workspace → tool operations → tasks → rendering. The names come from ``names.py``, the
requests and fixed replies from ``phrasings.py``.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentshell_train.names import DIRS, EXTS, STEMS, WORDS, folder, pick
from agentshell_train.phrasings import (
    PHRASES,
    SMALL_TALK,
    SYSTEM_PROMPT,
    UNABLE,
    UNABLE_ANSWERS,
    Split,
    phrasings,
    split_pool,
)
from agentshell_train.workspace import Workspace

__all__ = ["SYSTEM_PROMPT", "Conversation", "encode_segments", "generate", "render", "render_segments"]


IM_START, IM_END, ENDOFTEXT = "<|im_start|>", "<|im_end|>", "<|endoftext|>"

# ----------------------------------------------------------------------------- workspace


def _file_content(rng: random.Random, path: str, split: Split) -> str:
    ext = path.rsplit(".", 1)[-1]
    w = [pick(rng, WORDS, split) if rng.random() < 0.6 else rng.choice(WORDS) for _ in range(4)]
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
    top = sorted({folder(rng, split) for _ in range(rng.randint(1, 3))})
    for d in top:
        ws.dirs.append(d)
        if rng.random() < 0.3:
            ws.dirs.append(f"{d}/{folder(rng, split)}")
    for d in ["", *ws.dirs]:
        nested = any(x.startswith(f"{d}/") for x in ws.dirs) if d else False
        # a folder holding only a subfolder (src/ with just src/agentshell/) lists as one directory entry
        count = 0 if nested and rng.random() < 0.4 else rng.randint(1 if d else 0, 4)
        for _ in range(count):
            name = f"{pick(rng, STEMS, split)}.{rng.choice(EXTS)}"
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
        from agentshell.permissions.gate import PermissionGate
        from agentshell.tools import ToolContext, ToolRunner, default_tools

        self.runner = ToolRunner(
            default_tools(), ToolContext(root.resolve(), bash_timeout=10.0), PermissionGate("yolo", root.resolve())
        )

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


_COMMANDS: tuple[Callable[[random.Random, Workspace], str], ...] = (
    lambda r, ws: f"echo {r.choice(WORDS)}",
    lambda r, ws: f"echo {r.choice(WORDS)} {r.choice(WORDS)}",
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
            path = pick(rng, DIRS, split)
        where = "the current folder" if path == "." else path
        intro = rng.choice([f"{where} contains:", f"Here are the files in {where}:", f"In {where}:"])
        return exchange(phrase.format(path=path), "list_dir", lambda out: f"{intro}\n{out}", path=path)
    if kind == "read_file":
        path = rng.choice(ws.files)
        if rng.random() < 0.06:
            path = f"{pick(rng, STEMS, split)}.{rng.choice(EXTS)}"
        intro = rng.choice([f"{path} contains:", f"Here is {path}:", f"The content of {path} is:"])
        return exchange(
            phrase.format(path=path), "read_file", lambda out: f"{intro}\n{_strip_line_numbers(out)}", path=path
        )
    if kind == "grep":
        f = rng.choice(ws.files)
        words = re.findall(r"[a-z]{4,}", (root / f).read_text(encoding="utf-8"))
        pattern = rng.choice(words) if words and rng.random() < 0.85 else pick(rng, WORDS, split)
        path = rng.choice([f, f.rsplit("/", 1)[0] if "/" in f else ".", "."])

        def grep_answer(out: str) -> str:
            if out.startswith("No matches"):
                return f"I found no match for {pattern} in {path}."
            intro = rng.choice([f"{pattern} appears here:", f"Matches for {pattern}:", f"Found {pattern} in:"])
            return f"{intro}\n{out}"

        return exchange(phrase.format(pattern=pattern, path=path), "grep", grep_answer, pattern=pattern, path=path)
    if kind == "glob":
        ext = rng.choice(EXTS)
        pattern = rng.choice([f"*.{ext}", f"**/*.{ext}", *(f"{d}/*.{ext}" for d in ws.dirs[:2])])

        def glob_answer(out: str) -> str:
            if out.startswith("No files match"):
                return f"No files match {pattern}."
            return rng.choice([f"Files matching {pattern}:", f"These files match {pattern}:"]) + "\n" + out

        return exchange(phrase.format(pattern=pattern), "glob", glob_answer, pattern=pattern)
    if kind == "write_file":
        d = rng.choice(["", *ws.dirs])
        name = f"{pick(rng, STEMS, split)}.{rng.choice(('txt', 'md', 'py', 'sh'))}"
        path = f"{d}/{name}" if d else name
        content = " ".join(pick(rng, WORDS, split) for _ in range(rng.randint(1, 4)))
        answer = rng.choice([f"I wrote {path} with the text: {content}", f"Done: {path} now contains {content}"])
        return exchange(
            phrase.format(path=path, content=content), "write_file", lambda out: answer, path=path, content=content
        )
    if kind == "edit_file":
        f = rng.choice(ws.files)
        text = (root / f).read_text(encoding="utf-8")
        words = [w for w in set(re.findall(r"[A-Za-z]{4,}", text)) if text.count(w) == 1]
        old = rng.choice(sorted(words)) if words and rng.random() < 0.95 else pick(rng, WORDS, split)
        new = pick(rng, WORDS, split)
        answer = rng.choice([f"I replaced {old} with {new} in {f}.", f"Done: {old} is now {new} in {f}."])
        return exchange(
            phrase.format(path=f, old=old, new=new),
            "edit_file",
            lambda out: answer,
            path=f,
            old_string=old,
            new_string=new,
        )
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
    q = rng.choice(split_pool(UNABLE, split))
    return [Turn("user", q), Turn("assistant", rng.choice(UNABLE_ANSWERS))]


KINDS = ("list_dir", "read_file", "grep", "glob", "write_file", "edit_file", "bash", "small_talk", "unable")
_WEIGHTS = (16, 16, 12, 8, 10, 10, 12, 6, 5)
TOOL_KINDS = KINDS[:7]


def _style(rng: random.Random, text: str) -> str:
    """Some requests start with a capital; openers, please and punctuation come from the phrasings."""
    return text[0].upper() + text[1:] if rng.random() < 0.3 else text


def conversation(
    seed: int, index: int, split: Split = "train", kinds: tuple[str, ...] = KINDS, scratch: Path | None = None
) -> Conversation:
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


def generate(
    seed: int, count: int, split: Split = "train", kinds: tuple[str, ...] = KINDS, workers: int = 4
) -> Iterator[Conversation]:
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
