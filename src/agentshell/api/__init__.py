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
"""

from agentshell.api.agent import Agent, Approver, EventSink, NoticeSink, open_agent
from agentshell.api.events import (
    SCHEMA_VERSION,
    CheckpointEvent,
    ErrorEvent,
    HookEvent,
    InitEvent,
    ResultEvent,
    StreamEvent,
    TextEvent,
    ThinkingEvent,
    ToolCallEvent,
    ToolResultEvent,
    agent_output_schema,
)
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
