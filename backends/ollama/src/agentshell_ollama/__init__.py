"""agentshell ollama package."""
