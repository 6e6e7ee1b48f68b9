"""What the ollama backend declares to the agent: read at start-up, so it imports only the protocol.

Ollama claims last (:data:`~agentshell.protocol.CATCH_ALL_PRIORITY`): any word
that looks like a model name may be one of its models (``qwen3``, ``gpt-oss:120b-cloud``),
so every backend that claims specific names is asked first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agentshell.protocol import CATCH_ALL_PRIORITY, BackendManifest

# Ollama model names: optional registry/namespace path, a name, an optional tag. Not a file path.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)*(:[\w.\-]+)?$")


def claims_model(model: str, options: Mapping[str, Any] | None = None) -> bool:
    """Anything shaped like an Ollama model name, except a ``.gguf`` file name."""
    return bool(_MODEL_NAME.match(model)) and not model.lower().endswith(".gguf")


MANIFEST = BackendManifest(
    claim_priority=CATCH_ALL_PRIORITY,
    claims=claims_model,
    environment={"OLLAMA_HOST": "host", "OLLAMA_API_KEY": "api_key"},
    flags={"host": "host"},
    setup_hint="install Ollama from https://ollama.com and start it: ollama serve",
)
