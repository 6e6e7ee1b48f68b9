"""What the builtin backend declares to the agent: read at start-up, so it imports only the protocol.

It claims first and offers ``builtin`` (the model shipped in this package) as the
default model, so a fresh install works offline; the name must never be taken for
an Ollama model name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentshell.protocol import BackendManifest

NAME = "builtin"


def claims_model(model: str, options: Mapping[str, Any] | None = None) -> bool:
    return model == NAME or model.startswith(f"{NAME}:")


MANIFEST = BackendManifest(
    claim_priority=10,
    claims=claims_model,
    default_model=NAME,
    install_hint="reinstall agentshell-cli: the built-in engine and its model ship with it",
    setup_hint="reinstall agentshell-cli: the built-in model ships with it",
)
