"""What backends declare reaches the agent through their manifests, and the agent layer names none of them.

Claim order, environment variables, flags and config sections come from each
backend's ``MANIFEST``; a backend that is not installed but offered as an extra
of the distribution that provides ``agent`` gets an install hint from that
distribution's metadata. Reading manifests and resolving a model never import
the engines of backends that are not used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from agentshell import __version__, registry
from agentshell.api.failures import classify
from agentshell.config import agent_host, credential_env_vars, data_dir, load_config
from agentshell.errors import EXIT_USAGE
from agentshell.protocol import HOST_OPTION, BackendManifest, Host
from agentshell.testing.scripted import ScriptedBackend


def test_installed_backends_claim_in_the_order_they_declare() -> None:
    # builtin 10, gguf 20, openai 30; scripted declares nothing (500); ollama is the catch-all (1000).
    assert registry.backend_names() == ["builtin", "gguf", "openai", "scripted", "ollama"]
    declared = registry.manifests()
    assert [declared[n].claim_priority for n in ("builtin", "gguf", "openai", "ollama")] == [10, 20, 30, 1000]


PROBE = """
import json, sys
from agentshell import registry
registry.manifests()
read = sorted(m for m in sys.modules if m.startswith("agentshell_"))
found, model = registry.BackendPool().resolve(sys.argv[1])
built = sorted(m for m in sys.modules if m.startswith("agentshell_"))
print(json.dumps({"read": read, "built": built, "backend": found.name, "model": model}))
"""


def probe(model: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", PROBE, model], capture_output=True, text=True, check=True, timeout=60)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_reading_manifests_and_resolving_import_only_the_chosen_backend() -> None:
    report = probe("qwen3:8b")
    assert report["backend"] == "ollama" and report["model"] == "qwen3:8b"
    engines = {"agentshell_builtin.backend", "agentshell_gguf.backend", "agentshell_openai.backend"}
    assert not set(report["read"]) & (engines | {"agentshell_ollama.backend"}), report["read"]
    assert "agentshell_ollama.backend" in report["built"] and not set(report["built"]) & engines, report["built"]


def test_a_gguf_path_goes_to_gguf_without_asking_ollama(tmp_path: Path) -> None:
    report = probe(str(tmp_path / "m.gguf"))
    assert report["backend"] == "gguf" and "agentshell_ollama.backend" not in report["built"]


# --------------------------------------------------------------------------- a third-party backend's declarations


@pytest.fixture
def third_party(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Mapping[str, Any]]]:
    """A backend ``tp`` installed next to the real ones, declaring everything a manifest can; yields its options."""
    registry._discover()
    monkeypatch.setattr(registry, "_registered", dict(registry._registered))
    built: list[Mapping[str, Any]] = []

    def factory(options: Mapping[str, Any]) -> ScriptedBackend:
        built.append(options)
        return ScriptedBackend(options)

    manifest = BackendManifest(
        claim_priority=15,
        claims=lambda model, options: model.startswith(f"{options.get('prefix', 'tp')}-"),
        environment={"TP_URL": "url", "TP_API_KEY": "api_key"},
        flags={"host": "server", "base_url": "url"},
        sections=("endpoints",),
    )
    registry.register("tp", factory, manifest)
    yield built


def test_declared_priority_places_a_third_party(third_party: list[Mapping[str, Any]]) -> None:
    assert registry.backend_names() == ["builtin", "tp", "gguf", "openai", "scripted", "ollama"]


def test_declared_environment_reaches_the_backend_options(third_party: list[Mapping[str, Any]]) -> None:
    config = load_config(environ={"TP_URL": "http://tp:1", "TP_API_KEY": "tp-secret-123456", "OLLAMA_HOST": "h:1"})
    assert config.settings.backends["tp"] == {"url": "http://tp:1", "api_key": "tp-secret-123456"}
    assert config.sources["backends.tp.url"] == "env:TP_URL"
    assert config.settings.backends["ollama"] == {"host": "h:1"}  # a shipped backend's, declared the same way
    assert config.sources["backends.ollama.host"] == "env:OLLAMA_HOST"
    hidden = credential_env_vars(config.settings)
    assert {"TP_API_KEY", "OLLAMA_API_KEY", "OPENAI_API_KEY"} <= set(hidden) and "TP_URL" not in hidden


def test_flags_go_to_every_backend_that_declares_them(third_party: list[Mapping[str, Any]]) -> None:
    config = load_config(backend_flags={"host": "http://h:2", "base_url": None, "gpu_layers": 7})
    backends = config.settings.backends
    assert backends["tp"] == {"server": "http://h:2"} and backends["ollama"] == {"host": "http://h:2"}
    assert backends["gguf"] == {"gpu_layers": 7} and "openai" not in backends
    assert config.sources["backends.tp.server"] == "flag:--host"
    assert config.sources["backends.gguf.gpu_layers"] == "flag:--gpu-layers"


def test_declared_sections_and_the_host_reach_the_factory(
    third_party: list[Mapping[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[endpoints.box]\nbase_url = "http://box:8000/v1"\n[backends.tp]\nagent = "mine"\n')
    monkeypatch.setenv("AGENT_CONFIG", str(path))
    config = load_config()
    options = config.backend_options()
    assert options["tp"]["endpoints"]["box"]["base_url"] == "http://box:8000/v1"
    assert options["openai"]["endpoints"] == options["tp"]["endpoints"]
    config.backend_pool().get("tp")
    host = third_party[-1][HOST_OPTION]  # the user's own "agent" key cannot replace the host
    assert host == Host(version=__version__, data_dir=data_dir()) == agent_host()


def test_a_declared_claim_test_gets_the_options_and_builds_nothing(third_party: list[Mapping[str, Any]]) -> None:
    pool = registry.BackendPool({"tp": {"prefix": "mine"}})
    assert not pool.claims("tp", "tp-x") and pool.claims("tp", "mine-x")
    assert third_party == []
    found, model = pool.resolve("mine-x")
    assert (found.name, model) == ("scripted", "mine-x")  # a ScriptedBackend under the name tp
    assert len(third_party) == 1 and third_party[0]["prefix"] == "mine"


# --------------------------------------------------------------------------- a backend that is not installed


@pytest.fixture
def without_gguf(monkeypatch: pytest.MonkeyPatch) -> None:
    registry._discover()
    installed = {k: v for k, v in registry._registered.items() if k != "gguf"}
    monkeypatch.setattr(registry, "_registered", installed)


def test_the_user_facing_distribution_offers_gguf_as_an_extra() -> None:
    assert registry.optional_backends() == {"gguf": ("agentshell-cli", "gguf")}


def test_a_missing_optional_backend_says_how_to_install_it(without_gguf: None) -> None:
    with pytest.raises(registry.UnknownBackend) as info:
        registry.BackendPool().get("gguf")
    code, line = classify(info.value) or (0, "")
    assert code == EXIT_USAGE and "\n" not in line
    assert line == (
        "no backend named 'gguf' "
        "(install it: uv tool install 'agentshell-cli[gguf]', or pip install 'agentshell-cli[gguf]')"
    )


def test_an_unclaimed_model_names_the_missing_optional_backends(without_gguf: None, tmp_path: Path) -> None:
    with pytest.raises(registry.UnknownBackend) as info:
        registry.BackendPool().resolve(str(tmp_path / "m.gguf"))
    line = str(info.value)
    assert "installed: builtin, openai, scripted, ollama" in line
    assert "gguf is not installed: uv tool install 'agentshell-cli[gguf]'" in line


def test_an_unknown_name_lists_what_is_installed() -> None:
    with pytest.raises(registry.UnknownBackend, match=r"installed backends: builtin, gguf, openai, scripted, ollama"):
        registry.BackendPool().get("nonesuch")


def test_the_default_model_is_the_first_one_a_backend_offers(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config()
    assert config.settings.model == "builtin" and "model" not in config.sources  # offered by the builtin manifest
    registry._discover()
    others = {k: v for k, v in registry._registered.items() if k != "builtin"}
    monkeypatch.setattr(registry, "_registered", others)
    assert load_config().settings.model == ""  # nothing installed offers one: resolving it lists what is installed
    registry.register("tp", ScriptedBackend, BackendManifest(claim_priority=900, default_model="tp-small"))
    registry.register("tq", ScriptedBackend, BackendManifest(claim_priority=950, default_model="tq-small"))
    assert load_config().settings.model == "tp-small"
    assert load_config(environ={"AGENT_MODEL": "mine"}).settings.model == "mine"
