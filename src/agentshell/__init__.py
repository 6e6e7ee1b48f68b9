"""agentshell: a terminal coding agent with a separate, pluggable model layer."""

__version__ = "0.1.0"

__all__ = ["__version__"]
