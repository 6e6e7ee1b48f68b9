"""agentshell's Ollama backend: local models and Ollama's cloud, with native tool calls.

Importing the package is cheap: the agent reads :data:`MANIFEST` at start-up,
and :class:`OllamaBackend` is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentshell_ollama.manifest import MANIFEST

if TYPE_CHECKING:
    from agentshell_ollama.backend import OllamaBackend

__all__ = ["MANIFEST", "OllamaBackend"]


def __getattr__(name: str) -> Any:
    if name == "OllamaBackend":
        from agentshell_ollama.backend import OllamaBackend

        return OllamaBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
