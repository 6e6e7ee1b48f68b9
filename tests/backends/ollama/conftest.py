"""Fixtures for the ollama backend: the wire examples, a fake daemon, a backend with short timeouts.

``fake_server.py`` is loaded under a name no other test directory can take
(test directories here have no ``__init__.py``, so a plain ``fake_server``
could collide with another backend's helper of the same name).
"""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agentshell_ollama import OllamaBackend

from agentshell.protocol import HOST_OPTION, Host

FAKE_SERVER_MODULE = "agentshell_ollama_fake_server"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ollama"
HOST = "http://127.0.0.1:11434"

# Short enough to keep the suite fast, long enough for a loaded 2-core CI machine.
FAST = {
    "connect_timeout": 2.0,
    "first_token_timeout": 3.0,
    "idle_timeout": 0.5,
    "loading_notice_after": 0.2,
    "retries": 2,
    "retry_backoff": 0.01,
}


def _load_fake_server() -> Any:
    if FAKE_SERVER_MODULE not in sys.modules:
        spec = importlib.util.spec_from_file_location(FAKE_SERVER_MODULE, Path(__file__).with_name("fake_server.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[FAKE_SERVER_MODULE] = module
        spec.loader.exec_module(module)
    return sys.modules[FAKE_SERVER_MODULE]


fake_server = _load_fake_server()


class Wire:
    """The literal Ollama examples in tests/fixtures/ollama."""

    def json(self, name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    def lines(self, name: str) -> list[str]:
        return (FIXTURES / name).read_text(encoding="utf-8").splitlines()

    def bytes(self, name: str) -> bytes:
        return (FIXTURES / name).read_bytes()


@pytest.fixture
def wire() -> Wire:
    return Wire()


def show_body(
    arch: str = "llama", context: int | None = 8192, capabilities: tuple[str, ...] = ("completion", "tools")
) -> dict[str, Any]:
    info: dict[str, Any] = {"general.architecture": arch}
    if context is not None:
        info[f"{arch}.context_length"] = context
    return {"model_info": info, "capabilities": list(capabilities), "details": {"family": arch}}


@pytest.fixture
def show() -> Callable[..., dict[str, Any]]:
    return show_body


@pytest.fixture
def make_backend(isolated_user_dirs: Path) -> Callable[..., OllamaBackend]:
    """Built as the agent builds it: with a Host whose data folder is the test's own."""
    agent = Host(version="test", data_dir=isolated_user_dirs / "data" / "agentshell")

    def make(host: str = HOST, **options: Any) -> OllamaBackend:
        return OllamaBackend({**FAST, "host": host, **options, HOST_OPTION: agent})

    return make


@pytest.fixture
def fake() -> Iterator[Any]:
    with fake_server.fake_ollama() as server:
        server.script("POST", "/api/show", fake_server.Reply(body=show_body()))
        yield server


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
