"""Fixtures for the tool tests: a real workspace in tmp_path and a runner that allows everything inside it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentshell.permissions.gate import PermissionGate
from agentshell.tools import ToolContext, ToolResult, ToolRunner, default_tools


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return Path(os.path.realpath(root))


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(workspace=ws, bash_timeout=2.0, kill_grace=0.5)


@pytest.fixture
def run(ws: Path, ctx: ToolContext) -> Callable[..., ToolResult]:
    """Call a tool by name through a yolo runner: these tests are about what tools do, not who may."""
    runner = ToolRunner(default_tools(), ctx, PermissionGate("yolo", ws))

    def call(name: str, **arguments: Any) -> ToolResult:
        return runner.execute(name, arguments)

    return call
