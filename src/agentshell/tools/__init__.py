"""The agent's tools and the runner that executes one call safely.

A tool is a pydantic argument model (its JSON schema is what the model sees),
a kind (read / edit / execute) for the permission gate, and a run function
that returns text. Importing this package starts nothing and reads nothing.
"""

from __future__ import annotations

from typing import Any

from agentshell.permissions.modes import ToolKind
from agentshell.tools.base import (
    Access,
    BaseTool,
    DescribesAccess,
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolResult,
    tool_schema,
)
from agentshell.tools.files import EditFile, ReadFile, WriteFile
from agentshell.tools.runner import ToolRunner
from agentshell.tools.search import Glob, Grep, ListDir
from agentshell.tools.shell import Bash


def default_tools() -> list[Tool[Any]]:
    """read_file, write_file, edit_file, list_dir, glob, grep, bash, in the order the model is told about them."""
    return [ReadFile(), WriteFile(), EditFile(), ListDir(), Glob(), Grep(), Bash()]


__all__ = [
    "Access",
    "BaseTool",
    "DescribesAccess",
    "Tool",
    "ToolArgs",
    "ToolContext",
    "ToolError",
    "ToolKind",
    "ToolResult",
    "ToolRunner",
    "default_tools",
    "tool_schema",
]
