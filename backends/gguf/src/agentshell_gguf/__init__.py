"""agentshell gguf package."""
