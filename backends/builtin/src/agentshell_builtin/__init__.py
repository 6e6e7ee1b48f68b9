"""agentshell's built-in backend: a numpy Llama that reads GGUF files and shows its work.

Importing the package is cheap: numpy and gguf are imported by the modules that
compute (model.py, gguf_loader.py), which the backend loads on first use.
"""

from agentshell_builtin.backend import BuiltinBackend

__all__ = ["BuiltinBackend"]
