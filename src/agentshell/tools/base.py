"""What a tool is: a pydantic argument model, a kind, and a run function that returns text.

The argument model's JSON schema is what the model sees, so field descriptions
are written for small models: short, concrete, with an example where it helps.
A tool may also say, before it runs, what it is about to touch (:class:`Access`):
the permission gate decides on that, and the user approves the proposed diff
rather than a vague "edit this file?".
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, get_args, get_origin, runtime_checkable

from pydantic import BaseModel, ConfigDict

from agentshell.permissions.modes import ToolKind

if TYPE_CHECKING:
    from agentshell.tools.sandbox import Sandbox

MAX_PATH_CHARS = 4096  # PATH_MAX on Linux: a longer path cannot name anything
MAX_PATTERN_CHARS = 1000  # compiling a regex of megabytes takes minutes; no search needs that


@dataclass(frozen=True)
class ToolResult:
    output: str  # text that goes back to the model as the tool message content
    is_error: bool = False
    summary: str = ""  # one short line for the UI panel, e.g. "read 120 lines", "exit 0, 3 lines"
    diff: str | None = None  # unified diff for edits (the UI colours it)
    denied: bool = False  # not run: the permission gate refused it (json output lists it in permission_denials)


@dataclass
class ToolContext:
    workspace: Path  # resolved absolute
    bash_timeout: float = 120.0
    kill_grace: float = 2.0  # seconds between SIGTERM and SIGKILL when a command's process group is stopped
    # Variables kept from commands: agentshell's own credentials (OLLAMA_API_KEY, endpoints' api_key_env...).
    # Tools never read the configuration; whoever builds the context (api/assembly.py) fills this in.
    hidden_env: tuple[str, ...] = ()
    # Credential-looking variables the user still wants commands to get (``bash_pass_env``, e.g. GH_TOKEN).
    pass_env: tuple[str, ...] = ()
    sandbox: Sandbox | None = None  # every bash call runs inside it when set (tools/sandbox.py)
    # Called with each chunk a running command prints, as it prints it: the terminal shows the last lines live.
    on_output: Callable[[bytes], None] | None = None


@dataclass(frozen=True)
class Access:
    """What a call is about to do, for the permission gate.

    ``subject`` is what allow/deny rules match: the command for bash, the
    workspace-relative path (absolute when outside) for file tools.
    """

    summary: str  # "edit_file src/a.py", "bash: git status"
    subject: str
    paths: tuple[Path, ...] = ()
    detail: str | None = None  # the command, or the diff of the proposed edit


# C0 controls but tab, newline and form feed become caret notation (ESC -> ^[), C1 controls become U+FFFD: tool
# output and approval questions end up on the user's terminal, where ESC sequences could hide or rewrite text.
_VISIBLE = {c: f"^{chr(c + 64)}" for c in range(32) if c not in (9, 10, 12)} | {127: "^?"}
_VISIBLE.update({c: "\ufffd" for c in range(0x80, 0xA0)})


def visible(text: str) -> str:
    """``text`` with every terminal control character made harmless and visible; CRLF becomes LF."""
    return text.replace("\r\n", "\n").translate(_VISIBLE)


def plural(count: int, noun: str) -> str:
    """ "1 line", "3 lines": summaries are read by people."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class ToolError(Exception):
    """A tool could not do what was asked; ``str()`` goes to the model as the tool result."""


class ToolArgs(BaseModel):
    """Base of every argument model: unknown fields are errors, so a model that
    writes ``file_path`` instead of ``path`` is told so instead of silently ignored."""

    model_config = ConfigDict(extra="forbid")


ArgsT = TypeVar("ArgsT", bound=BaseModel)


@runtime_checkable
class Tool(Protocol[ArgsT]):
    """What the runner needs of a tool: ``run`` gets an instance of ``Args``, already validated."""

    name: str
    description: str
    kind: ToolKind
    Args: type[ArgsT]

    def run(self, args: ArgsT, ctx: ToolContext) -> ToolResult: ...


ArgsT_contra = TypeVar("ArgsT_contra", bound=BaseModel, contravariant=True)


@runtime_checkable
class DescribesAccess(Protocol[ArgsT_contra]):
    """Optional: tools that touch paths or run commands say what, before running."""

    def access(self, args: ArgsT_contra, ctx: ToolContext) -> Access: ...


class BaseTool(Generic[ArgsT]):
    """Base of the built-in tools: ``class ReadFile(BaseTool[ReadFileArgs])``.

    The type parameter is the argument model: it becomes ``Args``, and ``run`` and
    ``access`` receive that model, typed, with nothing to cast. Third-party tools
    only need :class:`Tool`'s shape.
    """

    name: str
    description: str
    kind: ToolKind
    Args: type[ArgsT]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        bases = cls.__dict__.get("__orig_bases__", ())
        params: list[Any] = [get_args(base)[0] for base in bases if get_origin(base) is BaseTool]
        if "Args" not in cls.__dict__ and params and not isinstance(params[0], TypeVar):  # a concrete tool
            cls.Args = params[0]

    def __repr__(self) -> str:
        return f"<tool {self.name}>"


# --------------------------------------------------------------------------- schema for the model


_SCHEMAS: dict[type[BaseModel], dict[str, Any]] = {}  # pydantic takes ~1 ms per schema, asked for every request


def tool_schema(args: type[BaseModel]) -> dict[str, Any]:
    """The argument model's JSON schema with ``$ref``s inlined and titles dropped (a fresh copy each call).

    Small models and grammar compilers (llama.cpp) handle a flat schema far
    better than one with ``$defs``; titles only repeat the field names.
    """
    cached = _SCHEMAS.get(args)
    if cached is None:
        schema = args.model_json_schema()
        defs: dict[str, Any] = schema.pop("$defs", {})
        cached = _inline(schema, defs, depth=0)
        cached.pop("description", None)  # the class docstring is for us; the tool description is for the model
        _SCHEMAS[args] = cached
    return copy.deepcopy(cached)


def _inline(node: Any, defs: dict[str, Any], depth: int) -> Any:
    if depth > 32:  # a recursive model; leave the rest open rather than loop
        return {}
    if isinstance(node, list):
        return [_inline(item, defs, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = dict(defs.get(ref.removeprefix("#/$defs/"), {}))
        extra = {k: v for k, v in node.items() if k != "$ref"}
        target.update(extra)
        return _inline(target, defs, depth + 1)
    options = node.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        # Optional[X] = None: show plain X and leave it out of "required"; null still validates.
        other = next(o for o in options if o != {"type": "null"})
        node = {**{k: v for k, v in node.items() if k != "anyOf"}, **other}
        if node.get("default", 0) is None:
            del node["default"]
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _inline(sub, defs, depth) for name, sub in value.items()}
        else:
            out[key] = _inline(value, defs, depth)
    return out
