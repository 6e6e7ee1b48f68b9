"""What the gguf backend declares to the agent: read at start-up, so it imports only the protocol.

It claims file names ending in ``.gguf``, right after the built-in model's names
and before the servers, so a path is never mistaken for an Ollama model name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentshell.protocol import BackendManifest

INSTALL_HINT = (
    "install the llama.cpp backend: uv tool install 'agentshell-cli[gguf]', or pip install 'agentshell-cli[gguf]'"
)


def claims_model(model: str, options: Mapping[str, Any] | None = None) -> bool:
    return model.strip().lower().endswith(".gguf")


MANIFEST = BackendManifest(
    claim_priority=20,
    claims=claims_model,
    flags={"gpu_layers": "gpu_layers"},
    install_hint=INSTALL_HINT,
    setup_hint=INSTALL_HINT,
)
