"""The public API is what ``agentshell.api.__all__`` names, nothing more, nothing less (httpx's discipline).

A name added or removed here is a change for every program that embeds agentshell: it comes with
docs/embedding.md and, for a removal, a release note.
"""

from __future__ import annotations

import json
import subprocess
import sys

import agentshell.api

PUBLIC = [
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


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions: the order ruff's RUF022 keeps ``__all__`` in."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_the_public_names_are_pinned() -> None:
    assert agentshell.api.__all__ == PUBLIC


def test_all_is_sorted() -> None:
    assert agentshell.api.__all__ == sorted(agentshell.api.__all__, key=_isort_key)


def test_every_public_name_exists_and_is_documented() -> None:
    docs = (__import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "embedding.md").read_text()
    for name in PUBLIC:
        assert hasattr(agentshell.api, name), name
        assert f"`{name}" in docs, f"{name} is public but docs/embedding.md does not name it"


def test_importing_the_api_loads_no_backend_no_sdk_and_not_the_loop() -> None:
    probe = "import json, sys, agentshell.api; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    loaded = set(json.loads(proc.stdout))
    heavy = {"numpy", "httpx", "llama_cpp", "agentshell_ollama", "agentshell_builtin", "agentshell.loop.agent", "acp"}
    assert not loaded & heavy, sorted(loaded & heavy)
