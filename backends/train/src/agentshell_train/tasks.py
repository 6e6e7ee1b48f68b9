"""One exchange of the agent corpus: a request, the tool call that answers it, the real result, the reply.

Each kind picks its arguments from the generated workspace (see ``projects.py`` and ``corpus.py``), a
request form from the grammar (``phrasings.py``) or the everyday forms (``everyday.py``), fills it with
typing noise (``noise.py``), really runs the tool, and quotes what came back.
"""

from __future__ import annotations

import random
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentshell_train.everyday import (
    DESTRUCTIVE,
    DESTRUCTIVE_ANSWERS,
    FILE_KINDS,
    GENERAL,
    GENERAL_ANSWERS,
    HERE,
    MISSING,
    everyday_forms,
)
from agentshell_train.names import DIRS, EXTS, STEMS, WORDS, pick
from agentshell_train.noise import noisy_format
from agentshell_train.phrasings import PHRASES, SMALL_TALK, UNABLE, UNABLE_ANSWERS, Split, phrasings, split_pool
from agentshell_train.workspace import Workspace

FAILURE_INTROS = ("That did not work: ", "I could not do that: ")
_SHELL = re.compile(r"(\$ )?(ls|cat|less|more|dir|tree|grep|rg|find|echo|sed)\b")
# how the workspace itself is named where a folder name would stand ("what's in {path}")
HERE_AFTER_IN = ("the current folder", "the current directory", "this folder", "the project", "this repo", "the repo")
EVERYDAY_SHARE = 0.55  # of requests drawn from everyday.py rather than the grammar

# words of ordinary English for longer texts to write; names come from the split's pools
_PLAIN = (
    "the a to of and in is it for on with this that be at as not we you by or from all new",
    "remember buy milk call back fix the bug before friday meeting notes release draft check again",
    "hello world thanks see you soon todo done maybe later first second third last step next",
)
_PLAIN_WORDS = tuple(" ".join(_PLAIN).split())


class ToolBox:
    """agentshell's own tools, run without asking, so every result is byte-for-byte what the agent would return."""

    def __init__(self, root: Path) -> None:
        from agentshell.permissions.gate import PermissionGate
        from agentshell.tools import ToolContext, ToolRunner, default_tools

        self.root = root
        self.runner = ToolRunner(
            default_tools(), ToolContext(root.resolve(), bash_timeout=10.0), PermissionGate("yolo", root.resolve())
        )

    def __call__(self, name: str, **arguments: str) -> tuple[str, bool]:
        result = self.runner.execute(name, arguments)
        return result.output, result.is_error


@dataclass(frozen=True)
class Turn:
    role: str  # system, user, assistant, tool
    content: str
    tool_call: dict[str, Any] | None = None  # on assistant turns: {"name": ..., "arguments": {...}}
    form: str | None = None  # on user turns: the phrasing the request was made from, before its noise


def strip_line_numbers(read_output: str) -> str:
    """read_file numbers its lines like ``cat -n``; answers quote the text without them."""
    return "\n".join(line.split("\t", 1)[1] if "\t" in line else line for line in read_output.splitlines())


def _failure(rng: random.Random, output: str) -> str:
    reason = output.splitlines()[0].removeprefix("error: ") if output else "unknown error"
    return rng.choice(FAILURE_INTROS) + reason


def _call(name: str, **arguments: str) -> Turn:
    return Turn("assistant", "", {"name": name, "arguments": arguments})


def _form(rng: random.Random, kind: str, split: Split) -> str:
    everyday = everyday_forms(kind, split)
    if everyday and rng.random() < EVERYDAY_SHARE:
        return rng.choice(everyday)
    return rng.choice(phrasings(kind, split))


def _words_of(text: str, least: int = 3) -> list[str]:
    return sorted(set(re.findall(rf"[A-Za-z_][A-Za-z0-9_]{{{least - 1},}}", text)))


def _span_of(rng: random.Random, text: str) -> str | None:
    """Two or three consecutive words of one line, occurring once in the text: what people quote to find."""
    lines = [ln.strip() for ln in text.splitlines() if len(ln.split()) >= 3]
    if not lines:
        return None
    words = rng.choice(lines).split()
    n = rng.randint(2, min(3, len(words)))
    i = rng.randrange(len(words) - n + 1)
    span = " ".join(words[i : i + n])
    return span if text.count(span) == 1 and "\t" not in span else None


def _text_to_write(rng: random.Random, split: Split) -> str:
    n = rng.choice((1, 2, 3, 4, 6, 8, 12, 16, 24))
    words = [pick(rng, WORDS, split) if rng.random() < 0.5 else rng.choice(_PLAIN_WORDS) for _ in range(n)]
    if n > 5 and rng.random() < 0.4:
        cut = rng.randrange(2, n - 1)
        words[cut - 1] += rng.choice((",", ".", ";", ":"))
    text = " ".join(words)
    return text[0].upper() + text[1:] if rng.random() < 0.3 else text


def _commands(rng: random.Random, ws: Workspace, split: Split) -> str:
    f = rng.choice(ws.files) if ws.files else "README.md"
    d = rng.choice(ws.dirs) if ws.dirs else "."
    w = [pick(rng, WORDS, split) for _ in range(4)]
    options: tuple[Callable[[], str], ...] = (
        lambda: f"echo {w[0]}",
        lambda: f"echo {' '.join(w[: rng.randint(2, 4)])}",
        lambda: f'echo "{w[0]} {w[1]}"',
        lambda: f"ls {d}",
        lambda: f"ls -la {d}",
        lambda: "ls",
        lambda: f"cat {f}",
        lambda: f"wc -l {f}",
        lambda: f"wc -l < {f}",
        lambda: f"head -n {rng.randint(1, 5)} {f}",
        lambda: f"tail -n {rng.randint(1, 3)} {f}",
        lambda: f"grep -c {w[0]} {f}",
        lambda: f"sort {f}",
        lambda: f"expr {rng.randint(1, 99)} + {rng.randint(1, 99)}",
        lambda: f"echo $(({rng.randint(2, 40)} * {rng.randint(2, 40)}))",
        lambda: f"seq 1 {rng.randint(2, 6)}",
        lambda: f"basename {f}",
        lambda: f"find {d} -name '*.{rng.choice(EXTS)}'",
        lambda: f'python3 -c "print({rng.randint(2, 99)} + {rng.randint(2, 99)})"',
        lambda: f"cat {f} | wc -w",
        lambda: f"mkdir -p {pick(rng, DIRS, split)} && echo ok",
        lambda: "git status --short",
        lambda: "git log --oneline",
        lambda: "git branch",
    )
    return rng.choice(options)()


def _git_init(root: Path) -> None:
    """A one-commit repository with a fixed author and date, so ``git log`` is the same on every run."""
    env = {
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T12:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T12:00:00Z",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(root),
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "first version"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=False, capture_output=True)


def task(rng: random.Random, ws: Workspace, split: Split, kind: str, tools: ToolBox) -> list[Turn]:
    """One request, the tool call that answers it, the real result, and the reply quoting it."""
    root = ws.root
    phrase = _form(rng, kind, split) if kind in PHRASES else ""

    def exchange(values: dict[str, str], name: str, answer_ok: Callable[[str], str], **args: str) -> list[Turn]:
        out, err = tools(name, **args)
        answer = _failure(rng, out) if err else answer_ok(out)
        if values.get("path") == "." and not _SHELL.match(phrase) and rng.random() < 0.8:
            values = {**values, "path": rng.choice(HERE_AFTER_IN)}
        request = noisy_format(rng, phrase, values)
        return [Turn("user", request, form=phrase), _call(name, **args), Turn("tool", out), Turn("assistant", answer)]

    if kind == "list_dir":
        path = rng.choice([*ws.dirs, *ws.dirs[:3], "."]) if ws.dirs else "."
        if rng.random() < 0.05:
            path = pick(rng, DIRS, split)
        here = rng.choice(HERE)
        if "{here}" in phrase or "{path}" not in phrase:
            path = "."
        where = "the current folder" if path == "." else path
        intro = rng.choice([f"{where} contains:", f"Here are the files in {where}:", f"In {where}:"])
        return exchange({"path": path, "here": here}, "list_dir", lambda out: f"{intro}\n{out}", path=path)
    if kind == "read_file":
        path = rng.choice(ws.files)
        if rng.random() < 0.05:
            path = f"{pick(rng, STEMS, split)}.{rng.choice(EXTS)}"
        intro = rng.choice([f"{path} contains:", f"Here is {path}:", f"The content of {path} is:"])
        return exchange({"path": path}, "read_file", lambda out: f"{intro}\n{strip_line_numbers(out)}", path=path)
    if kind == "grep":
        f = rng.choice(ws.files)
        text = (root / f).read_text(encoding="utf-8")
        words = _words_of(text, 4)
        pattern = rng.choice(words) if words else pick(rng, WORDS, split)
        roll = rng.random()
        if roll < 0.2:
            pattern = _span_of(rng, text) or pattern
        elif roll < 0.3:
            pattern = pick(rng, WORDS, split)
        here = rng.choice(HERE)
        path = rng.choice([f, f.rsplit("/", 1)[0] if "/" in f else ".", "."]) if "{path}" in phrase else "."

        def grep_answer(out: str) -> str:
            where = "the project" if path == "." else path
            if out.startswith("No matches"):
                return f"I found no match for {pattern} in {where}."
            intro = rng.choice([f"{pattern} appears here:", f"Matches for {pattern}:", f"Found {pattern} in:"])
            return f"{intro}\n{out}"

        values = {"pattern": pattern, "path": path, "here": here}
        return exchange(values, "grep", grep_answer, pattern=pattern, path=path)
    if kind == "glob":
        exts = sorted({f.rsplit(".", 1)[-1] for f in ws.files if "." in f.rsplit("/", 1)[-1].lstrip(".")})
        ext = rng.choice(exts) if exts and rng.random() < 0.85 else rng.choice(EXTS)
        names = [label for label, e in FILE_KINDS if e == ext]
        if "{kind}" in phrase and not names:
            phrase = rng.choice(phrasings("glob", split))
        label = rng.choice(names) if names else ext
        if "{kind}" in phrase:
            pattern = f"**/*.{ext}"
        else:
            stems = [f for f in ws.files if f.endswith(f".{ext}")]
            choices = [f"*.{ext}", f"**/*.{ext}", *(f"{d}/*.{ext}" for d in ws.dirs[:2])]
            if stems and rng.random() < 0.2:
                choices = [f"**/{stems[0].rsplit('/', 1)[-1]}"]
            pattern = rng.choice(choices)

        def glob_answer(out: str) -> str:
            if out.startswith("No files match"):
                return f"No files match {pattern}."
            return rng.choice([f"Files matching {pattern}:", f"These files match {pattern}:"]) + "\n" + out

        return exchange(
            {"pattern": pattern, "kind": label, "here": rng.choice(HERE)}, "glob", glob_answer, pattern=pattern
        )
    if kind == "write_file":
        d = rng.choice(["", *ws.dirs])
        name = f"{pick(rng, STEMS, split)}.{rng.choice(('txt', 'md', 'py', 'sh', 'json', 'yaml'))}"
        path = f"{d}/{name}" if d else name
        content = _text_to_write(rng, split)
        answer = rng.choice([f"I wrote {path} with the text: {content}", f"Done: {path} now contains {content}"])
        return exchange(
            {"path": path, "content": content}, "write_file", lambda out: answer, path=path, content=content
        )
    if kind == "edit_file":
        f = rng.choice(ws.files)
        text = (root / f).read_text(encoding="utf-8")
        once = [
            w for w in _words_of(text, 3) if len(re.findall(rf"\b{re.escape(w)}\b", text)) == 1 and text.count(w) == 1
        ]
        old = (_span_of(rng, text) if rng.random() < 0.3 else None) or (rng.choice(once) if once else "")
        if not old:
            old = pick(rng, WORDS, split)
        new = old.replace(old.split()[-1], pick(rng, WORDS, split)) if " " in old else pick(rng, WORDS, split)
        if old.isdigit() or re.fullmatch(r"\d+", old.split()[-1]):
            new = old.replace(old.split()[-1], str(rng.randint(1, 9999)))
        answer = rng.choice([f"I replaced {old} with {new} in {f}.", f"Done: {old} is now {new} in {f}."])
        return exchange(
            {"path": f, "old": old, "new": new},
            "edit_file",
            lambda out: answer,
            path=f,
            old_string=old,
            new_string=new,
        )
    if kind == "bash":
        command = _commands(rng, ws, split)
        if command.startswith("git") and not (root / ".git").exists():
            _git_init(root)

        def bash_answer(out: str) -> str:
            body = out.rsplit("\n[", 1)[0] if out.endswith("]") else out
            return rng.choice([f"The command printed:\n{body}", f"Output of {command}:\n{body}"])

        return exchange({"command": command}, "bash", bash_answer, command=command)
    return _no_tool(rng, split, kind)


def _no_tool(rng: random.Random, split: Split, kind: str) -> list[Turn]:
    """Requests answered without a tool: small talk, general questions, missing referents, refusals."""
    if kind == "small_talk":
        # small talk is not split: its answers are fixed, so there is nothing to generalize to
        q, a = rng.choice(SMALL_TALK)
    elif kind == "general":
        q, a = rng.choice(split_pool(GENERAL, split)), rng.choice(GENERAL_ANSWERS)
    elif kind == "missing":
        q, a = rng.choice(split_pool(MISSING, split))
    elif kind == "destructive":
        q, a = rng.choice(split_pool(DESTRUCTIVE, split)), rng.choice(DESTRUCTIVE_ANSWERS)
    else:
        q, a = rng.choice(split_pool(UNABLE, split)), rng.choice(UNABLE_ANSWERS)
    return [Turn("user", noisy_format(rng, q.replace("{", "(").replace("}", ")"), {})), Turn("assistant", a)]
