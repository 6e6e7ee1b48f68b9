"""agentshell backend for local GGUF models run in-process by llama.cpp (llama-cpp-python).

Importing this package is cheap: the agent reads :data:`MANIFEST` at start-up;
:class:`GGUFBackend` is imported on first use, and llama_cpp, gguf and jinja2
when a model is read. backends/gguf/README.md is the user documentation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentshell_gguf.manifest import MANIFEST

if TYPE_CHECKING:
    from agentshell_gguf.backend import GGUFBackend

__all__ = ["MANIFEST", "GGUFBackend"]


def __getattr__(name: str) -> Any:
    if name == "GGUFBackend":
        from agentshell_gguf.backend import GGUFBackend

        return GGUFBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
