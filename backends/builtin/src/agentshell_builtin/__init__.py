"""agentshell builtin package."""
