"""agentshell's built-in backend: a numpy Llama that reads GGUF files and shows its work.

Importing the package is cheap: the agent reads :data:`MANIFEST` at start-up;
:class:`BuiltinBackend` is imported on first use, and numpy and gguf by the
modules that compute (model.py, gguf_loader.py) when a model is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentshell_builtin.manifest import MANIFEST

if TYPE_CHECKING:
    from agentshell_builtin.backend import BuiltinBackend

__all__ = ["MANIFEST", "BuiltinBackend"]


def __getattr__(name: str) -> Any:
    if name == "BuiltinBackend":
        from agentshell_builtin.backend import BuiltinBackend

        return BuiltinBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
