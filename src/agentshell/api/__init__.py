"""agentshell's public Python API: an agent for a workspace and a model, its runs, their events.

::

    from agentshell.api import open_agent

    with open_agent("~/src/project", "ollama:qwen3", approve=lambda request: "yes") as agent:
        for event in agent.stream("why does the build fail?"):
            if event.type == "text":
                print(event.text, end="", flush=True)

Everything a program may rely on is named in ``__all__`` (kept sorted, and pinned by
tests/api/test_public_surface.py); the rest of agentshell may change without notice. The events are
the objects ``--output-format stream-json`` prints (docs/scripting.md). ``agent launch`` (-p, stream-json
input, the shell) and ``agent acp`` are built on this API. docs/embedding.md is the guide.

Each name is imported when first used, not with the package: ``agent launch -p`` imports the agent and
its result but, printing text, not the event models (start-up: benchmarks/ollama_stream.py).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentshell.api.agent import Agent, Approver, EventSink, NoticeSink, open_agent
    from agentshell.api.events import (
        CheckpointEvent,
        ErrorEvent,
        HookEvent,
        InitEvent,
        StreamEvent,
        TextEvent,
        ThinkingEvent,
        ToolCallEvent,
        ToolResultEvent,
        agent_output_schema,
    )
    from agentshell.api.result import SCHEMA_VERSION, ResultEvent
    from agentshell.errors import UserError
    from agentshell.permissions.gate import Approval, ApprovalRequest
    from agentshell.permissions.modes import PERMISSION_MODES, PermissionMode
    from agentshell.protocol import BackendFailure, Message

__all__ = [
    "PERMISSION_MODES",
    "SCHEMA_VERSION",
    "Agent",
    "Approval",
    "ApprovalRequest",
    "Approver",
    "BackendFailure",
    "CheckpointEvent",
    "ErrorEvent",
    "EventSink",
    "HookEvent",
    "InitEvent",
    "Message",
    "NoticeSink",
    "PermissionMode",
    "ResultEvent",
    "StreamEvent",
    "TextEvent",
    "ThinkingEvent",
    "ToolCallEvent",
    "ToolResultEvent",
    "UserError",
    "agent_output_schema",
    "open_agent",
]

_HOMES = {
    "agentshell.api.agent": ("Agent", "Approver", "EventSink", "NoticeSink", "open_agent"),
    "agentshell.api.events": (
        "CheckpointEvent", "ErrorEvent", "HookEvent", "InitEvent", "StreamEvent", "TextEvent", "ThinkingEvent",
        "ToolCallEvent", "ToolResultEvent", "agent_output_schema",
    ),
    "agentshell.api.result": ("SCHEMA_VERSION", "ResultEvent"),
    "agentshell.errors": ("UserError",),
    "agentshell.permissions.gate": ("Approval", "ApprovalRequest"),
    "agentshell.permissions.modes": ("PERMISSION_MODES", "PermissionMode"),
    "agentshell.protocol": ("BackendFailure", "Message"),
}  # fmt: skip
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'agentshell.api' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once: the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
