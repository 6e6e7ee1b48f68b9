"""One tool call, start to end: look the tool up, validate, ask permission, run, catch.

Whatever the model sends, the answer is a :class:`ToolResult` it can read and
act on, so the loop goes on. The one exception is Ctrl-C: KeyboardInterrupt
propagates (after the bash tool has killed its process group) so the turn ends.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from agentshell.permissions.gate import ApprovalRequest, PermissionGate
from agentshell.protocol import ToolSpec
from agentshell.redact import redact
from agentshell.tools.base import (
    Access,
    DescribesAccess,
    Tool,
    ToolContext,
    ToolError,
    ToolResult,
    tool_schema,
    visible,
)

DEFAULT_TOOL_NAMES = ("read_file", "write_file", "edit_file", "list_dir", "glob", "grep", "bash")
MAX_OUTPUT_CHARS = 100_000  # last line of defence; each tool caps its own output well below this
_SHOWN_ARG_CHARS = 200


class ToolRunner:
    def __init__(self, tools: Sequence[Tool[Any]], ctx: ToolContext, gate: PermissionGate) -> None:
        self.tools: dict[str, Tool[Any]] = {t.name: t for t in tools}
        self.ctx = ctx
        self.gate = gate
        gate.check_rule_names([*self.tools, *DEFAULT_TOOL_NAMES])  # raises RuleError for a rule naming no tool

    def specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(name=t.name, description=t.description, parameters=tool_schema(t.Args))
            for t in self.tools.values()
        ]

    def execute(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        tool = self.tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self.tools))
            return _error(f"error: unknown tool {_clip(repr(name))}. Available tools: {known}.", "unknown tool")
        if isinstance(arguments, str):  # some servers pass the arguments object as JSON text
            with contextlib.suppress(ValueError, RecursionError):
                arguments = json.loads(arguments)
        if not isinstance(arguments, Mapping):
            return _error(
                f"error: arguments for {name} must be a JSON object, got {type(arguments).__name__}.",
                "invalid arguments",
            )
        try:
            args = tool.Args.model_validate(dict(arguments))
        except ValidationError as exc:
            return _error(f"error: invalid arguments for {name}: {describe_validation(exc)}", "invalid arguments")

        try:
            access = tool.access(args, self.ctx) if isinstance(tool, DescribesAccess) else _default_access(tool, args)
            request = ApprovalRequest(
                tool=name,
                kind=tool.kind,
                summary=visible(access.summary),
                detail=None if access.detail is None else visible(access.detail),
            )
            allowed, message = self.gate.check(request, paths=access.paths, rule_subject=access.subject)
        except ToolError as exc:
            return _error(f"error: {exc}", _first_line(str(exc)))
        except Exception as exc:  # a bug in a tool's access() or the ask callback must not end the turn
            return _error(f"error: {name} could not be checked: {type(exc).__name__}: {exc}", "failed")
        if not allowed:
            return ToolResult(output=visible(message), is_error=True, summary="denied", denied=True)

        try:
            result = tool.run(args, self.ctx)
        except ToolError as exc:
            return _error(f"error: {exc}", _first_line(str(exc)))
        except Exception as exc:
            return _error(f"error: {name} failed: {type(exc).__name__}: {_clip(str(exc), 2000)}", "failed")
        if not isinstance(result, ToolResult) or not isinstance(result.output, str):
            what = type(result).__name__
            return _error(f"error: {name} returned {what}, not a ToolResult with text (a bug in the tool)", "failed")
        output = result.output
        if len(output) > MAX_OUTPUT_CHARS:
            cut = len(output) - MAX_OUTPUT_CHARS
            output = output[:MAX_OUTPUT_CHARS] + f"\n[... {cut} more characters cut ...]"
        diff = visible(result.diff) if isinstance(result.diff, str) else None
        summary = visible(result.summary) if isinstance(result.summary, str) else ""
        # Redacted here for what the terminal shows; loop/agent.py redacts what enters the conversation.
        return ToolResult(visible(redact(output)), bool(result.is_error), summary, diff)


def describe_validation(exc: ValidationError) -> str:
    """Pydantic's errors as one short line per field, never echoing the (maybe huge) input."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False)[:10]:
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        lines.append(f"{where}: {err['msg']}")
    return "; ".join(lines)


def _default_access(tool: Tool[Any], args: BaseModel) -> Access:
    """For third-party tools that do not describe themselves: rules match their JSON arguments."""
    shown = _clip(json.dumps(args.model_dump(mode="json"), ensure_ascii=False), _SHOWN_ARG_CHARS)
    return Access(summary=f"{tool.name} {shown}", subject=shown)


def _error(message: str, summary: str) -> ToolResult:
    return ToolResult(output=visible(message), is_error=True, summary=visible(summary))


def _clip(text: str, limit: int = _SHOWN_ARG_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _first_line(text: str) -> str:
    return _clip(text.splitlines()[0] if text else "error", 80)
