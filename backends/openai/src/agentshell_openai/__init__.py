"""agentshell backend for OpenAI-compatible servers (vLLM, llama.cpp's server, LM Studio, hosted APIs)."""

from agentshell_openai.backend import OpenAIBackend

__all__ = ["OpenAIBackend"]
