"""describe() and list_models(): context length and capabilities from /api/show, cached on disk by digest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from agentshell_ollama import OllamaBackend

from agentshell.protocol import Backend, HealthCheck, ModelNotFound

HOST = "http://127.0.0.1:11434"


def test_satisfies_the_protocols(make_backend: Callable[..., OllamaBackend]) -> None:
    backend = make_backend()
    assert isinstance(backend, Backend) and isinstance(backend, HealthCheck)


def test_describe_reads_the_trained_context(make_backend: Callable[..., OllamaBackend], wire: Any) -> None:
    with respx.mock(base_url=HOST) as router:
        route = router.post("/api/show").mock(return_value=httpx.Response(200, json=wire.json("show-response.json")))
        info = make_backend().describe("llava")
    assert json.loads(route.calls.last.request.content) == wire.json("show-request.json")
    assert info.context_length == 8192
    assert info.capabilities == frozenset({"completion", "vision"}) and not info.supports_tools
    assert info.details == {"family": "llama", "size": "8.0B", "quantization": "Q4_0"}
    assert not info.remote and info.backend == "ollama"


def test_describe_caps_a_long_local_context(make_backend: Callable[..., OllamaBackend], wire: Any) -> None:
    with respx.mock(base_url=HOST) as router:
        router.post("/api/show").mock(return_value=httpx.Response(200, json=wire.json("show-response-gemma4.json")))
        info = make_backend().describe("gemma4")
    assert info.context_length == 65536 and info.details["trained"] == "trained on 131,072"


def _tags_with_cloud(wire: Any) -> dict[str, Any]:
    tags = wire.json("tags-response.json")
    tags["models"].append(
        {
            "name": "gpt-oss:120b-cloud",
            "model": "gpt-oss:120b-cloud",
            "digest": "cloud-digest",
            "remote_host": "https://ollama.com:443",
            "details": {"family": "gptoss", "parameter_size": "116.8B"},
        }
    )
    return tags


def test_list_models_with_context_and_capabilities(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]], isolated_user_dirs: Path
) -> None:
    def routes(router: respx.MockRouter) -> dict[str, respx.Route]:
        router.get("/api/tags").mock(return_value=httpx.Response(200, json=_tags_with_cloud(wire)))
        return {
            "deepseek-r1:latest": router.post("/api/show", json={"model": "deepseek-r1:latest"}).mock(
                return_value=httpx.Response(
                    200, json=show(arch="qwen2", context=131072, capabilities=("completion", "thinking"))
                )
            ),
            "llama3.2:latest": router.post("/api/show", json={"model": "llama3.2:latest"}).mock(
                return_value=httpx.Response(200, json=show(arch="llama", context=131072))
            ),
            "gpt-oss:120b-cloud": router.post("/api/show", json={"model": "gpt-oss:120b-cloud"}).mock(
                return_value=httpx.Response(401, json={"error": "unauthorized"})
            ),
        }

    with respx.mock(base_url=HOST) as router:
        shows = routes(router)
        models = make_backend().list_models()
    assert [(m.name, m.context_length, sorted(m.capabilities), m.remote) for m in models] == [
        ("deepseek-r1:latest", 65536, ["completion", "thinking"], False),
        ("llama3.2:latest", 65536, ["completion", "tools"], False),
        ("gpt-oss:120b-cloud", None, ["completion"], True),  # signed out: listed without details
    ]
    assert models[0].details["quantization"] == "Q4_K_M" and models[0].details["trained"] == "trained on 131,072"
    assert models[2].details == {"family": "gptoss", "size": "116.8B"}
    assert all(route.call_count == 1 for route in shows.values())

    cache = isolated_user_dirs / "data" / "agentshell" / "ollama" / "show-cache.json"
    assert cache.is_file()
    with respx.mock(base_url=HOST, assert_all_called=False) as router:  # a new run: show only what was not cached
        shows = routes(router)
        again = make_backend().list_models()
    assert again == models
    assert [name for name, route in shows.items() if route.called] == ["gpt-oss:120b-cloud"]


def test_damaged_cache_is_ignored(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]], isolated_user_dirs: Path
) -> None:
    cache = isolated_user_dirs / "data" / "agentshell" / "ollama" / "show-cache.json"
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json", encoding="utf-8")
    with respx.mock(base_url=HOST) as router:
        router.get("/api/tags").mock(return_value=httpx.Response(200, json=wire.json("tags-response.json")))
        router.post("/api/show").mock(return_value=httpx.Response(200, json=show(context=4096)))
        models = make_backend().list_models()
    assert [m.context_length for m in models] == [4096, 4096]
    assert len(json.loads(cache.read_text(encoding="utf-8"))) == 2


def test_list_on_direct_cloud_marks_everything_remote(
    make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]
) -> None:
    tags = {"models": [{"name": "gpt-oss:120b", "model": "gpt-oss:120b", "digest": "d1", "details": {}}]}
    with respx.mock(base_url="https://ollama.com") as router:
        router.get("/api/tags").mock(return_value=httpx.Response(200, json=tags))
        router.post("/api/show").mock(return_value=httpx.Response(200, json=show(context=131072)))
        models = make_backend(host="https://ollama.com", api_key="k").list_models()
    assert [(m.name, m.context_length, m.remote) for m in models] == [("gpt-oss:120b", 131072, True)]


def test_describe_of_a_cloud_model_the_server_cannot_show(make_backend: Callable[..., OllamaBackend]) -> None:
    with respx.mock(base_url=HOST) as router:
        router.post("/api/show").mock(return_value=httpx.Response(404, json={"error": "model not found"}))
        info = make_backend().describe("kimi-k2:1t-cloud")
        assert info.remote and info.supports_tools and info.context_length is None
        with pytest.raises(ModelNotFound):
            make_backend().describe("kimi-k2:1t")  # a local model that is not there is an error
