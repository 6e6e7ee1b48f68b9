"""OLLAMA_HOST forms, cloud detection, option parsing and model-string claims (no I/O)."""

from __future__ import annotations

import pytest
from agentshell_ollama import OllamaBackend
from agentshell_ollama.endpoint import cloud_api_name, is_cloud_model, is_direct_cloud, parse_host
from agentshell_ollama.settings import OllamaSettings

from agentshell.protocol import BackendError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "http://127.0.0.1:11434"),
        ("", "http://127.0.0.1:11434"),
        ("  ", "http://127.0.0.1:11434"),
        ("gpu-box", "http://gpu-box:11434"),
        ("gpu-box:8080", "http://gpu-box:8080"),
        ("10.0.0.5", "http://10.0.0.5:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("0.0.0.0:9999", "http://127.0.0.1:9999"),
        (":9999", "http://127.0.0.1:9999"),
        ("http://gpu-box", "http://gpu-box:80"),
        ("https://gpu-box", "https://gpu-box:443"),
        ("http://gpu-box:11434/", "http://gpu-box:11434"),
        ("https://proxy.example/ollama/", "https://proxy.example:443/ollama"),
        ("ollama.com", "https://ollama.com:443"),
        ("https://ollama.com", "https://ollama.com:443"),
        ("[::1]:11434", "http://[::1]:11434"),
        ("::1", "http://[::1]:11434"),
        ("gpu-box:notaport", "http://gpu-box:11434"),
        ("gpu-box:99999", "http://gpu-box:11434"),
        ("://gpu-box", "http://gpu-box:11434"),
    ],
)
def test_host_forms_match_ollama(value: str | None, expected: str) -> None:
    assert parse_host(value) == expected


@pytest.mark.parametrize(
    ("model", "cloud", "api_name"),
    [
        ("qwen3.5:397b-cloud", True, "qwen3.5:397b"),
        ("gpt-oss:120b-cloud", True, "gpt-oss:120b"),
        ("glm-4.6:cloud", True, "glm-4.6"),
        ("qwen3:8b", False, "qwen3:8b"),
        ("qwen3", False, "qwen3"),
        ("cloud", False, "cloud"),
        ("user/cloud-model:latest", False, "user/cloud-model:latest"),
    ],
)
def test_cloud_models_and_their_api_names(model: str, cloud: bool, api_name: str) -> None:
    assert is_cloud_model(model) is cloud
    assert cloud_api_name(model) == api_name


def test_direct_cloud_is_only_ollama_com() -> None:
    assert is_direct_cloud("https://ollama.com:443")
    assert not is_direct_cloud("http://127.0.0.1:11434")
    assert not is_direct_cloud("https://notollama.com:443")


@pytest.mark.parametrize(
    ("model", "claimed"),
    [
        ("qwen3", True),
        ("qwen3.5:397b-cloud", True),
        ("hf.co/bartowski/Qwen3-8B-GGUF:Q4_K_M", True),
        ("library/llama3.2:latest", True),
        ("./model.gguf", False),
        ("/tmp/x.gguf", False),
        ("model.GGUF", False),
        ("has space", False),
        ("", False),
    ],
)
def test_claims_ollama_names_only(model: str, claimed: bool) -> None:
    assert OllamaBackend({}).claims(model) is claimed


def test_construction_is_cheap_and_reads_options() -> None:
    backend = OllamaBackend({"host": "gpu-box", "api_key": "k", "max_context": "32768", "unknown": 1})
    assert backend.settings.host == "http://gpu-box:11434"
    assert backend.settings.api_key == "k"
    assert backend.settings.max_context == 32768
    assert backend._client is None  # no connection until the first request


def test_bad_timeout_is_one_clear_line() -> None:
    with pytest.raises(BackendError, match=r"invalid ollama option idle_timeout='soon'"):
        OllamaSettings.from_options({"idle_timeout": "soon"})
    with pytest.raises(BackendError, match="connect_timeout"):
        OllamaSettings.from_options({"connect_timeout": -1})


def test_discovery_imports_nothing_heavy() -> None:
    """The entry point is loaded to resolve any model string: no httpx, no ollama client, no rich."""
    import subprocess
    import sys

    code = (
        "import sys, agentshell_ollama, agentshell_ollama.cli_pull\n"
        "agentshell_ollama.OllamaBackend({'host': 'gpu-box'}).claims('qwen3')\n"
        "print(sorted(m for m in ('httpx', 'ollama', 'rich', 'httpcore') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
