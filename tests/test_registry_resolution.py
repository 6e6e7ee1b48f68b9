"""Model-string resolution through the real registry, with backends registered the way a plugin's are.

The claim order is what each backend declares (``BackendManifest.claim_priority``); the
fixture declares the shipped backends' priorities, and a test checks them against the real manifests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from agentshell import registry
from agentshell.api.failures import classify
from agentshell.errors import EXIT_USAGE
from agentshell.protocol import CATCH_ALL_PRIORITY, BackendManifest
from agentshell.testing.scripted import ScriptedBackend

# The priorities the shipped backends declare, and one third party that declares none.
PRIORITIES = {"builtin": 10, "gguf": 20, "openai": 30, "thirdparty": None, "ollama": CATCH_ALL_PRIORITY}


class Claiming(ScriptedBackend):
    """A scripted backend that claims model names by a rule, under a chosen name."""

    def __init__(self, name: str, rule: Any, log: list[str]) -> None:
        super().__init__({})
        self.name = name
        self.rule = rule
        self.log = log

    def claims(self, model: str) -> bool:
        self.log.append(self.name)
        return bool(self.rule(model))


@pytest.fixture
def claims_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Replace the installed backends with four test ones named like the real ones (and one third-party)."""
    monkeypatch.setattr(registry, "_registered", {})
    monkeypatch.setattr(registry, "_discovered", True)
    log: list[str] = []
    rules = {
        "builtin": lambda m: m == "builtin",
        "gguf": lambda m: m.endswith(".gguf") and Path(m).is_file(),
        "openai": lambda m: False,
        "thirdparty": lambda m: m.startswith("tp-"),
        "ollama": lambda m: True,
    }
    for name, rule in rules.items():

        def factory(options: Mapping[str, Any], name: str = name, rule: Any = rule) -> Claiming:
            return Claiming(name, rule, log)

        priority = PRIORITIES[name]
        registry.register(name, factory, None if priority is None else BackendManifest(claim_priority=priority))
    yield log


def resolve(model: str, backend: str | None = None) -> tuple[str, str]:
    found, name = registry.BackendPool().resolve(model, backend)
    return found.name, name


def test_claim_order_is_fixed_then_third_party_then_ollama(claims_log: list[str]) -> None:
    assert registry.backend_names() == ["builtin", "gguf", "openai", "thirdparty", "ollama"]
    assert resolve("qwen3.5:397b-cloud") == ("ollama", "qwen3.5:397b-cloud")
    assert claims_log == ["builtin", "gguf", "openai", "thirdparty", "ollama"]


def test_first_claim_wins(claims_log: list[str], tmp_path: Path) -> None:
    assert resolve("builtin") == ("builtin", "builtin")
    weights = tmp_path / "m.gguf"
    weights.write_bytes(b"GGUF")
    assert resolve(str(weights)) == ("gguf", str(weights))
    assert resolve(str(tmp_path / "missing.gguf"))[0] == "ollama"
    assert resolve("tp-model") == ("thirdparty", "tp-model")


def test_backend_prefix_routes_without_asking_claims(claims_log: list[str]) -> None:
    assert resolve("openai:gpt-oss") == ("openai", "gpt-oss")
    assert resolve("ollama:qwen3:8b") == ("ollama", "qwen3:8b")
    assert claims_log == []
    # A prefix that names no backend is part of the model name.
    assert resolve("qwen3:8b") == ("ollama", "qwen3:8b")


def test_forced_backend(claims_log: list[str]) -> None:
    assert resolve("builtin", backend="ollama") == ("ollama", "builtin")
    assert resolve("openai:gpt-oss", backend="openai") == ("openai", "gpt-oss")
    assert claims_log == []


def test_unknown_backend_is_one_usage_line(claims_log: list[str]) -> None:
    with pytest.raises(registry.UnknownBackend) as info:
        resolve("x", backend="nope")
    code, line = classify(info.value) or (0, "")
    assert code == EXIT_USAGE
    assert line.startswith("no backend named 'nope'") and "\n" not in line
    assert "builtin, gguf, openai, thirdparty, ollama" in line


def test_scripted_backend_is_installed_through_its_entry_point() -> None:
    from agentshell.testing.scripted import ScriptedBackend as Installed

    backend, model = registry.BackendPool().resolve("scripted:turns.json")
    assert isinstance(backend, Installed) and model == "turns.json"
