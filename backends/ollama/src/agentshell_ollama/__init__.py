"""agentshell's Ollama backend: local models and Ollama's cloud, with native tool calls."""

from agentshell_ollama.backend import OllamaBackend

__all__ = ["OllamaBackend"]
