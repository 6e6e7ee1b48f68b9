"""agentshell backend for local GGUF models run in-process by llama.cpp (llama-cpp-python).

Importing this package is cheap: llama_cpp, gguf and jinja2 are imported on
first use. The README's "Local GGUF models" section is the user documentation.
"""

from agentshell_gguf.backend import GGUFBackend

__all__ = ["GGUFBackend"]
