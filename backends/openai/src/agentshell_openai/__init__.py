"""agentshell openai package."""
