"""The hand-written request set: load it, check it, build its workspaces, judge a model's calls and answers.

Shared by ``benchmarks/handwritten_eval.py`` (which runs a model on it) and
``tests/backends/builtin/test_handwritten_set.py`` (which keeps it honest). The data
and the matching rules are described in tests/fixtures/handwritten_requests/README.md;
this module is those rules as code, so the benchmark and the test cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

SET_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "handwritten_requests"
REQUESTS_FILE = SET_DIR / "requests.jsonl"
WORKSPACES_FILE = SET_DIR / "workspaces.jsonl"
DATA_FILES = (REQUESTS_FILE, WORKSPACES_FILE)

# Changing either file is a decision, not an accident: update these and the README together.
EXPECTED_SHA256 = {
    "requests.jsonl": "560c2c75d91d24a15d0a4bc55e605204d3ebf7d1526177407fca2c7a70ad1376",
    "workspaces.jsonl": "7ab8c26c32086d3d06f031b7b867b774ca9fcf25275c48a221ba2fb8c8515fe0",
}

TOOLS = ("read_file", "write_file", "edit_file", "list_dir", "glob", "grep", "bash")
Expect = Literal["tool", "no_tool", "refuse_or_ask"]
EXPECTS: tuple[Expect, ...] = ("tool", "no_tool", "refuse_or_ask")
PATH_FIELDS = ("path",)
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dana Reyes",
    "GIT_AUTHOR_EMAIL": "dana@example.org",
    "GIT_COMMITTER_NAME": "Dana Reyes",
    "GIT_COMMITTER_EMAIL": "dana@example.org",
    "GIT_AUTHOR_DATE": "2024-05-14T09:30:00+00:00",
    "GIT_COMMITTER_DATE": "2024-05-14T09:30:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


class SetError(ValueError):
    """The data files break the schema; the message names the line."""


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Item:
    id: str
    workspace: str
    request: str
    expect: Expect
    calls: tuple[Call, ...]  # acceptable calls; the first is the reference whose result the answer must quote
    quote: tuple[str, ...]  # every one must appear in a correct final answer
    tool_error: bool  # the reference call fails on purpose (a missing file): the answer must say so
    tags: tuple[str, ...]

    @property
    def reference(self) -> Call:
        return self.calls[0]


@dataclass(frozen=True)
class Workspace:
    name: str
    files: dict[str, str]  # relative POSIX path -> text
    git_message: str | None  # when set, the files are committed in a git repository with this message

    def build(self, root: Path) -> Path:
        """Write the files under ``root`` (which must not exist yet) and commit them when the workspace says so."""
        root.mkdir(parents=True)
        for rel, text in self.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if self.git_message is not None:
            env = {**os.environ, **_GIT_ENV}
            for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", self.git_message]):
                subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
        return root


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_available() -> bool:
    return shutil.which("git") is not None


# --------------------------------------------------------------------------- loading


def _lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            raise SetError(f"{path.name}:{number}: empty line")
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise SetError(f"{path.name}:{number}: not JSON: {exc}") from None
        if not isinstance(row, dict):
            raise SetError(f"{path.name}:{number}: not a JSON object")
        rows.append((number, row))
    return rows


def load_workspaces(path: Path = WORKSPACES_FILE) -> dict[str, Workspace]:
    files: dict[str, dict[str, str]] = {}
    git: dict[str, str] = {}
    for number, row in _lines(path):
        where = f"{path.name}:{number}"
        name = row.get("workspace")
        if not isinstance(name, str) or not name:
            raise SetError(f"{where}: 'workspace' must be a non-empty string")
        if set(row) == {"workspace", "git_commit"} and isinstance(row["git_commit"], str):
            git[name] = row["git_commit"]
            continue
        if set(row) != {"workspace", "path", "content"}:
            raise SetError(f"{where}: keys must be workspace, path, content (or workspace, git_commit)")
        rel, content = row["path"], row["content"]
        if not isinstance(rel, str) or not isinstance(content, str):
            raise SetError(f"{where}: path and content must be strings")
        if rel != posixpath.normpath(rel) or rel.startswith(("/", "..")) or rel == ".":
            raise SetError(f"{where}: path {rel!r} must be relative and normalised")
        if rel in files.setdefault(name, {}):
            raise SetError(f"{where}: {name}/{rel} given twice")
        files[name][rel] = content
    unknown = set(git) - set(files)
    if unknown:
        raise SetError(f"{path.name}: git_commit for workspaces without files: {sorted(unknown)}")
    return {name: Workspace(name, f, git.get(name)) for name, f in files.items()}


def _call(raw: object, where: str) -> Call:
    if not isinstance(raw, dict) or set(raw) != {"name", "arguments"}:
        raise SetError(f"{where}: a call is {{'name': ..., 'arguments': {{...}}}}")
    name, arguments = raw["name"], raw["arguments"]
    if name not in TOOLS or not isinstance(arguments, dict):
        raise SetError(f"{where}: unknown tool {name!r} or arguments not an object")
    return Call(name, arguments)


def _strings(raw: object, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(s, str) and s for s in raw):
        raise SetError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(raw)


def load_items(path: Path = REQUESTS_FILE) -> list[Item]:
    keys = {"id", "workspace", "request", "expect", "calls", "quote", "tags"}
    items: list[Item] = []
    seen: set[str] = set()
    for number, row in _lines(path):
        where = f"{path.name}:{number}"
        if not keys <= set(row) <= keys | {"tool_error"}:
            raise SetError(f"{where}: keys must be {sorted(keys)} (and optionally tool_error)")
        ident, request, expect = row["id"], row["request"], row["expect"]
        if not isinstance(ident, str) or not ident or ident in seen:
            raise SetError(f"{where}: id {ident!r} missing or repeated")
        seen.add(ident)
        if not isinstance(request, str) or not request.strip() or not isinstance(row["workspace"], str):
            raise SetError(f"{where}: request and workspace must be non-empty strings")
        if expect not in EXPECTS:
            raise SetError(f"{where}: expect must be one of {EXPECTS}")
        if not isinstance(row["calls"], list):
            raise SetError(f"{where}: 'calls' must be a list")
        calls = tuple(_call(c, where) for c in row["calls"])
        quote = _strings(row["quote"], where, "quote")
        tool_error = row.get("tool_error", False)
        if not isinstance(tool_error, bool):
            raise SetError(f"{where}: tool_error must be true or false")
        if expect == "tool" and (not calls or not quote):
            raise SetError(f"{where}: a tool item needs at least one call and one quote")
        if expect != "tool" and (calls or quote or tool_error):
            raise SetError(f"{where}: a {expect} item has no calls, quotes or tool_error")
        items.append(
            Item(
                ident, row["workspace"], request, expect, calls, quote, tool_error, _strings(row["tags"], where, "tags")
            )
        )
    return items


# --------------------------------------------------------------------------- matching


def _norm_path(value: str) -> str:
    text = value.strip()
    return posixpath.normpath(text) if text else "."


def normalise(name: str, arguments: Mapping[str, Any]) -> dict[str, Any] | None:
    """The call's arguments as the tool will see them (defaults filled in), with the documented
    equivalences applied; None when the tool is unknown or would reject the arguments."""
    from pydantic import ValidationError

    from agentshell.tools import default_tools

    tool = next((t for t in default_tools() if t.name == name), None)
    if tool is None:
        return None
    try:
        args: dict[str, Any] = tool.Args.model_validate(dict(arguments)).model_dump()
    except ValidationError:
        return None
    for key in PATH_FIELDS:
        if isinstance(args.get(key), str):
            args[key] = _norm_path(args[key])
    if name == "glob" or (name == "grep" and args.get("include")):
        key = "pattern" if name == "glob" else "include"
        args[key] = args[key].strip().removeprefix("./")
    if name == "bash":
        args["command"] = " ".join(args["command"].split())
    if name == "write_file":
        args["content"] = args["content"].rstrip("\n")
    return args


def call_matches(name: str, arguments: Mapping[str, Any], accepted: Sequence[Call]) -> bool:
    got = normalise(name, arguments)
    if got is None:
        return False
    return any(c.name == name and normalise(c.name, c.arguments) == got for c in accepted)


def quotes_result(answer: str, item: Item) -> bool:
    """A correct answer contains every quoted string (case-sensitive substrings)."""
    return all(q in answer for q in item.quote)


def tool_runner(workspace: Path) -> Any:
    """The real tools on ``workspace`` behind a yolo gate: only our reference calls are ever run,
    and they stay inside the workspace. Returns an ``agentshell.tools.ToolRunner``."""
    from agentshell.permissions.gate import PermissionGate
    from agentshell.tools import ToolContext, ToolRunner, default_tools

    context = ToolContext(workspace=workspace, bash_timeout=30.0)
    return ToolRunner(default_tools(), context, PermissionGate("yolo", workspace))


def run_reference(item: Item, workspace: Path) -> tuple[str, bool]:
    """The reference call run by the real tool runner on the real files: (output, is_error)."""
    result = tool_runner(workspace).execute(item.reference.name, dict(item.reference.arguments))
    return str(result.output), bool(result.is_error)
