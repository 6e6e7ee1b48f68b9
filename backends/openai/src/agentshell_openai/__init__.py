"""agentshell backend for OpenAI-compatible servers (vLLM, llama.cpp's server, LM Studio, hosted APIs).

Importing the package is cheap: the agent reads :data:`MANIFEST` at start-up,
and :class:`OpenAIBackend` is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentshell_openai.manifest import MANIFEST

if TYPE_CHECKING:
    from agentshell_openai.backend import OpenAIBackend

__all__ = ["MANIFEST", "OpenAIBackend"]


def __getattr__(name: str) -> Any:
    if name == "OpenAIBackend":
        from agentshell_openai.backend import OpenAIBackend

        return OpenAIBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
