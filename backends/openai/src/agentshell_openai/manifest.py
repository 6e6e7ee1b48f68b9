"""What the openai backend declares to the agent: read at start-up, so it imports only the protocol.

It claims ``NAME:MODEL`` where NAME is one of the user's ``[endpoints.NAME]``
servers; a bare model name is ambiguous and left to the catch-all. A default
server is reached with ``openai:MODEL`` or ``--backend openai``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentshell.protocol import BackendManifest

SETUP_HINT = "set OPENAI_BASE_URL (or --base-url), or add [endpoints.NAME] base_url = ... to the config"


def routable_endpoints(options: Mapping[str, Any]) -> set[str]:
    """The names of the configured endpoints that can be reached (a ``base_url`` is set)."""
    raw = options.get("endpoints") or {}
    if not isinstance(raw, Mapping):
        return set()
    return {str(name) for name, spec in raw.items() if isinstance(spec, Mapping) and spec.get("base_url")}


def claims_model(model: str, options: Mapping[str, Any]) -> bool:
    head, sep, rest = model.partition(":")
    return bool(sep and rest and head in routable_endpoints(options))


MANIFEST = BackendManifest(
    claim_priority=30,
    claims=claims_model,
    environment={"OPENAI_BASE_URL": "base_url", "OPENAI_API_KEY": "api_key"},
    flags={"base_url": "base_url"},
    sections=("endpoints",),
    setup_hint=SETUP_HINT,
)
