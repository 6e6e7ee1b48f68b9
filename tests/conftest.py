"""Shared test fixtures.

Every test runs with its own config and data directories so that nothing reads
or writes the developer's real ``~/.config/agentshell`` or sessions, and so that
a user's environment (``AGENT_MODEL``, ``OLLAMA_HOST``...) cannot change results.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Variables that would leak the developer's own setup into a test.
_USER_ENV = (
    "AGENT_CONFIG",
    "AGENT_MODEL",
    "AGENT_BACKEND",
    "AGENT_PERMISSION_MODE",
    "AGENT_MAX_TURNS",
    "AGENT_CONTEXT_THRESHOLD",
    "AGENT_SANDBOX",
    "OLLAMA_HOST",
    "OLLAMA_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
)


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point XDG config/data/cache at a fresh directory; yields that directory's root."""
    # Child processes (agent runs in subprocess tests) keep their bytecode in one cache for the whole
    # session, outside the tree: with PYTHONDONTWRITEBYTECODE each would recompile every module (~0.4 s).
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", str(tmp_path_factory.getbasetemp() / "pycache"))
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    root = tmp_path_factory.mktemp("xdg")
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache")):
        path = root / sub
        path.mkdir()
        monkeypatch.setenv(var, str(path))
    for var in _USER_ENV:
        monkeypatch.delenv(var, raising=False)
    yield root
