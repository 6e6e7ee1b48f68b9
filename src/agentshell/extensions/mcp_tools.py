"""An MCP server's tools as agentshell tools: ``mcp__SERVER__TOOL``, gated, bounded and redacted like bash.

A tool whose annotations say read-only (``readOnlyHint``) is a read for the permission gate;
every other one is an execute, so it asks (docs/extensions.md#permissions). The result comes
back as text: text blocks as they are, images, audio and binary resources as one line that says
what was there, and the whole kept to bash's head and tail. When the schemas of every MCP tool
would take too much of a small model's context, :class:`SearchTools` stands in for them and
loads the ones a search finds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from agentshell.permissions.modes import ToolKind
from agentshell.tools.base import Access, BaseTool, ToolArgs, ToolContext, ToolResult, plural
from agentshell.tools.shell import HeadTail

if TYPE_CHECKING:
    import mcp_types

    from agentshell.extensions.mcp_client import McpHub

MAX_NAME = 64  # what OpenAI-compatible servers accept for a function name
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_SHOWN_ARGS = 300


def tool_name(server: str, tool: str) -> str:
    """``mcp__SERVER__TOOL`` (Claude Code's naming), with characters function names may not hold replaced."""
    return f"mcp__{server}__{_UNSAFE.sub('_', tool)}"[:MAX_NAME]


class McpArgs(BaseModel):
    """Arguments of an MCP tool: the server's own JSON schema is what the model sees and what the server checks."""

    model_config = ConfigDict(extra="allow")
    input_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        schema = dict(cls.input_schema)
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        return schema


def args_model(schema: dict[str, Any]) -> type[McpArgs]:
    return type("McpToolArgs", (McpArgs,), {"input_schema": schema})


class McpTool:
    """One tool of one server; ``run`` blocks on the server (``tool_timeout``), Ctrl-C cancels the call."""

    def __init__(self, hub: McpHub, server: str, tool: mcp_types.Tool) -> None:
        self.hub, self.server, self.remote_name = hub, server, tool.name
        self.name = tool_name(server, tool.name)
        self.description = (tool.description or tool.title or f"{tool.name} from the MCP server {server}").strip()
        read_only = tool.annotations is not None and tool.annotations.read_only_hint is True
        self.kind: ToolKind = "read" if read_only else "execute"
        self.Args: type[BaseModel] = args_model(dict(tool.input_schema))

    def access(self, args: BaseModel, ctx: ToolContext) -> Access:
        shown = json.dumps(args.model_dump(mode="json"), ensure_ascii=False)
        clipped = shown if len(shown) <= _SHOWN_ARGS else shown[:_SHOWN_ARGS] + "…"
        detail = json.dumps(args.model_dump(mode="json"), ensure_ascii=False, indent=2)
        return Access(summary=f"{self.server} · {self.remote_name} {clipped}", subject=shown, detail=detail)

    def run(self, args: BaseModel, ctx: ToolContext) -> ToolResult:
        result = self.hub.call_tool(self.server, self.remote_name, args.model_dump(mode="json"))
        return result_to_text(result)

    def __repr__(self) -> str:
        return f"<mcp tool {self.name}>"


def result_to_text(result: mcp_types.CallToolResult) -> ToolResult:
    """Text for the model, bounded like bash's output (head and tail kept, the middle counted)."""
    capture = HeadTail()
    parts = 0
    for block in result.content:
        text = describe_block(block)
        capture.add((text if text.endswith("\n") else text + "\n").encode("utf-8", "replace"))
        parts += 1
    if not parts and result.structured_content is not None:
        capture.add(json.dumps(result.structured_content, ensure_ascii=False, indent=2).encode("utf-8", "replace"))
    output = capture.text().rstrip("\n") or "(no output)"
    lines = output.count("\n") + 1
    size = f", {capture.total} bytes" if capture.cut else ""
    summary = ("error: " if result.is_error else "") + plural(lines, "line") + size
    return ToolResult(output, is_error=bool(result.is_error), summary=summary)


def describe_block(block: Any) -> str:
    """One content block as text; what is not text is summarised in one bracketed line."""
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_size(block.data)}, not shown]"
    if kind == "resource_link":
        return f"[resource link: {block.uri}{f' ({block.name})' if block.name else ''}]"
    if kind == "resource":
        contents = block.resource
        text = getattr(contents, "text", None)
        if isinstance(text, str):
            return f"[resource {contents.uri}]\n{text}"
        mime = getattr(contents, "mime_type", None) or "binary"
        return f"[resource {contents.uri}: {mime}, {_size(getattr(contents, 'blob', ''))}, not shown]"
    return f"[{kind or 'unknown'} content, not shown]"


def _size(base64_data: str) -> str:
    size = len(base64_data) * 3 // 4
    return f"{size / 1024:.0f} KB" if size >= 1024 else plural(size, "byte")


# --------------------------------------------------------------------------- search_tools


class SearchToolsArgs(ToolArgs):
    query: str = Field(description="Words describing what you need, e.g. 'git log' or 'current time'.", max_length=500)


class SearchTools(BaseTool[SearchToolsArgs]):
    """Stands in for MCP tools whose schemas would not fit the context; the ones it finds are offered next turn."""

    name = "search_tools"
    kind: ToolKind = "read"
    description = (
        "Find more tools by keyword. Only some tools are listed; this searches the rest (from MCP servers) "
        "and makes the matches callable from your next step. Returns their names and what they do."
    )
    LIMIT = 5

    def __init__(self, candidates: Callable[[], Sequence[McpTool]], load: Callable[[Sequence[str]], None]) -> None:
        self.candidates, self.load = candidates, load

    def run(self, args: SearchToolsArgs, ctx: ToolContext) -> ToolResult:
        words = [w for w in re.split(r"[\s_,.:/-]+", args.query.lower()) if w]
        scored = []
        for tool in self.candidates():
            haystack = f"{tool.name} {tool.description}".lower().replace("_", " ")
            score = sum(3 if w in tool.name.lower() else 1 for w in words if w in haystack)
            if score:
                scored.append((score, tool.name, tool))
        scored.sort(key=lambda item: (-item[0], item[1]))
        found = [tool for _, _, tool in scored[: self.LIMIT]]
        if not found:
            return ToolResult(f"no tool matches {args.query!r}; try other words", summary="nothing found")
        self.load([t.name for t in found])
        lines = [f"- {t.name}: {t.description.splitlines()[0][:200] if t.description else ''}" for t in found]
        body = "These tools can now be called (their parameters are in your tool list):\n" + "\n".join(lines)
        return ToolResult(body, summary=f"found {plural(len(found), 'tool')}")
