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
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentshell_train.names import EXTS, STEMS, WORDS, folder, pick
from agentshell_train.phrasings import SYSTEM_PROMPT, Split
from agentshell_train.tasks import FAILURE_INTROS, ToolBox, Turn, task
from agentshell_train.workspace import Workspace

__all__ = [
    "FAILURE_INTROS",
    "SYSTEM_PROMPT",
    "Conversation",
    "Turn",
    "encode_segments",
    "generate",
    "render",
    "render_segments",
]


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


@dataclass(frozen=True)
class Conversation:
    kind: str  # which task family produced it
    turns: tuple[Turn, ...]


KINDS = (
    "list_dir",
    "read_file",
    "grep",
    "glob",
    "write_file",
    "edit_file",
    "bash",
    "small_talk",
    "unable",
    "general",
    "missing",
    "destructive",
)
_WEIGHTS = (16, 20, 14, 8, 10, 12, 12, 4, 3, 3, 3, 3)
TOOL_KINDS = KINDS[:7]
PROJECT_SHARE = 0.7  # of workspaces that look like real projects (projects.py) rather than toy folders


def _style(rng: random.Random, text: str) -> str:
    """Some requests start with a capital; openers, please and punctuation come from the phrasings."""
    return text[0].upper() + text[1:] if rng.random() < 0.3 else text


def conversation(
    seed: int,
    index: int,
    split: Split = "train",
    kinds: tuple[str, ...] = KINDS,
    scratch: Path | None = None,
    turns: int | None = None,
) -> Conversation:
    """Conversation number ``index`` of a corpus: its own random stream, so any one can be rebuilt alone.

    ``turns`` asks for that many requests in one conversation (the long rows that teach the model to
    work deep in its context window); by default most conversations hold one request, some two.
    """
    from agentshell_train.projects import make_project

    rng = random.Random(f"{seed}-{split}-{index}" + (f"-long{turns}" if turns else ""))
    weights = [w for k, w in zip(KINDS, _WEIGHTS, strict=True) if k in kinds]
    root = Path(tempfile.mkdtemp(prefix="ws-", dir=scratch))
    try:
        ws = make_project(rng, root, split) if rng.random() < PROJECT_SHARE else make_workspace(rng, root, split)
        tools = ToolBox(root)
        kind = rng.choices(kinds, weights)[0]
        count = turns if turns else (2 if rng.random() < 0.15 else 1)
        out = [Turn("system", SYSTEM_PROMPT)]
        for n in range(count):
            exchange = task(rng, ws, split, kind if n == 0 else rng.choices(kinds, weights)[0], tools)
            out += [Turn("user", _style(rng, exchange[0].content), form=exchange[0].form), *exchange[1:]]
            if n + 1 < count:  # only a later request can name what this one created
                _refresh(ws)
        return Conversation(kind, tuple(out))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _refresh(ws: Workspace) -> None:
    """After a write or a command, later requests may name what was created."""
    found = sorted(p.relative_to(ws.root).as_posix() for p in ws.root.rglob("*") if ".git" not in p.parts)
    ws.files[:] = [p for p in found if (ws.root / p).is_file()]
    ws.dirs[:] = [p for p in found if (ws.root / p).is_dir()]


def generate(
    seed: int,
    count: int,
    split: Split = "train",
    kinds: tuple[str, ...] = KINDS,
    workers: int = 4,
    turns: int | None = None,
) -> Iterator[Conversation]:
    """Yield ``count`` conversations in order; the same seed and split always yield the same ones.

    Most of the time goes to waiting on tool subprocesses, so a few threads overlap that waiting.
    ``turns`` makes each conversation that many requests long (see ``conversation``).
    """
    from concurrent.futures import ThreadPoolExecutor

    scratch = Path(tempfile.mkdtemp(prefix="agentshell-corpus-"))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            yield from pool.map(lambda i: conversation(seed, i, split, kinds, scratch, turns), range(count))
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
