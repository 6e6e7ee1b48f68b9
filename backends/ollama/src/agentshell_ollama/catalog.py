"""What ``/api/show`` and ``/api/tags`` say about a model, reduced to :class:`ModelInfo`.

The trained context length is ``model_info["<arch>.context_length"]``, where
``<arch>`` is ``model_info["general.architecture"]``. Show results for local
models are cached on disk by digest (a re-pulled model has a new digest), so
``agent models`` does not ask Ollama about every model on every run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentshell.protocol import ModelInfo
from agentshell_ollama.endpoint import is_cloud_model

BACKEND_NAME = "ollama"
CACHE_FILE = "show-cache.json"
CACHE_LIMIT = 500  # entries; the oldest go first


@dataclass(frozen=True)
class ShowFacts:
    """The part of a show response the backend needs."""

    trained_context: int | None
    capabilities: frozenset[str]
    details: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "trained_context": self.trained_context,
            "capabilities": sorted(self.capabilities),
            "details": self.details,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ShowFacts:
        context = data.get("trained_context")
        return cls(
            trained_context=context if isinstance(context, int) else None,
            capabilities=frozenset(str(c) for c in data.get("capabilities", ())),
            details={str(k): str(v) for k, v in dict(data.get("details", {})).items()},
        )


def parse_show(data: Mapping[str, Any]) -> ShowFacts:
    info = data.get("model_info") or data.get("modelinfo") or {}
    info = info if isinstance(info, dict) else {}
    arch = info.get("general.architecture")
    context = info.get(f"{arch}.context_length") if isinstance(arch, str) else None
    if not isinstance(context, int):  # an architecture name that does not match its keys
        context = next((v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int)), None)
    capabilities = data.get("capabilities")
    caps = frozenset(c for c in capabilities if isinstance(c, str)) if isinstance(capabilities, list) else frozenset()
    return ShowFacts(
        trained_context=context,
        capabilities=caps or frozenset({"completion"}),
        details=display_details(data.get("details")),
    )


def display_details(details: Any) -> dict[str, str]:
    if not isinstance(details, dict):
        return {}
    keys = (("family", "family"), ("parameter_size", "size"), ("quantization_level", "quantization"))
    return {label: str(details[key]) for key, label in keys if details.get(key)}


def model_info(
    name: str,
    facts: ShowFacts,
    *,
    context_length: int | None,
    remote: bool | None = None,
    listed: Mapping[str, str] | None = None,
) -> ModelInfo:
    """``listed`` is what /api/tags said (size, quantization); /api/show's details win where both speak."""
    details = {**(listed or {}), **facts.details}
    if facts.trained_context is not None and facts.trained_context != context_length:
        details["trained"] = f"trained on {facts.trained_context:,}"  # the window used is capped below it
    return ModelInfo(
        name=name,
        backend=BACKEND_NAME,
        context_length=context_length,
        capabilities=facts.capabilities,
        details=details,
        remote=is_cloud_model(name) if remote is None else remote,
    )


class ShowCache:
    """A small JSON file of show facts keyed by host and digest; any damage just empties it.

    Without a path (a backend built without the agent's :class:`~agentshell.protocol.Host`) it lives in memory.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8")) if self.path else {}
            except (OSError, ValueError):
                data = {}
            self._entries = data if isinstance(data, dict) else {}
        return self._entries

    def get(self, key: str) -> ShowFacts | None:
        entry = self._load().get(key)
        if not isinstance(entry, dict):
            return None
        try:
            return ShowFacts.from_json(entry)
        except (TypeError, ValueError):
            return None

    def put(self, key: str, facts: ShowFacts) -> None:
        entries = self._load()
        entries.pop(key, None)
        entries[key] = facts.to_json()
        while len(entries) > CACHE_LIMIT:
            entries.pop(next(iter(entries)))

    def save(self) -> None:
        if self._entries is None or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._entries), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # a cache that cannot be written only costs speed
