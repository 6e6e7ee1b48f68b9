"""Every HTTP failure Ollama documents becomes one protocol error line with its fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from agentshell_ollama import OllamaBackend

from agentshell.protocol import (
    AuthRequired,
    BackendError,
    BackendFailure,
    BackendUnavailable,
    ChatOptions,
    Message,
    ModelNotFound,
    Notice,
    PermissionDenied,
    RateLimited,
    TextDelta,
    ToolsUnsupported,
)

HOST = "http://127.0.0.1:11434"
USER = [Message(role="user", content="hi")]
OK = b'{"message":{"role":"assistant","content":"fine"},"done":false}\n{"done":true,"done_reason":"stop"}\n'


def chat_failure(
    backend: OllamaBackend, chat: list[httpx.Response], show: dict[str, Any], model: str = "llama3.2"
) -> tuple[BackendFailure, int]:
    with respx.mock(base_url=backend.settings.host, assert_all_called=False) as router:
        router.post("/api/show").mock(return_value=httpx.Response(200, json=show))
        route = router.post("/api/chat").mock(side_effect=chat)
        with pytest.raises(BackendFailure) as caught:
            list(backend.chat(model, USER, options=ChatOptions()))
    return caught.value, route.call_count


def error(wire: Any, name: str, status: int, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, content=wire.bytes(f"errors/{name}"), **kwargs)


@pytest.mark.parametrize("name", ["404-model-not-found.json", "404-model-not-found-try-pulling.json"])
def test_model_not_found_says_pull(name: str, make_backend: Callable[..., OllamaBackend], wire: Any) -> None:
    with respx.mock(base_url=HOST) as router:
        router.post("/api/show").mock(return_value=error(wire, name, 404))
        with pytest.raises(ModelNotFound) as caught:
            list(make_backend().chat("llama3.2", USER, options=ChatOptions()))
    assert str(caught.value) == "model 'llama3.2' not found at http://127.0.0.1:11434 (run `agent pull llama3.2`)"


def test_not_found_on_chat_too(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    failure, _ = chat_failure(make_backend(), [error(wire, "404-model-not-found.json", 404)], show())
    assert isinstance(failure, ModelNotFound)


def test_tools_unsupported(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    failure, calls = chat_failure(
        make_backend(), [error(wire, "400-does-not-support-tools.json", 400)], show(), "llava"
    )
    assert isinstance(failure, ToolsUnsupported)
    assert str(failure).startswith("llava cannot call tools (continue without tools")
    assert calls == 1


def test_thinking_unsupported(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    failure, _ = chat_failure(make_backend(), [error(wire, "400-does-not-support-thinking.json", 400)], show())
    assert str(failure) == "llama3.2 cannot think (run with --think off)"


def test_bad_request_shows_ollamas_message(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    failure, _ = chat_failure(make_backend(), [error(wire, "400-missing-request-body.json", 400)], show())
    assert type(failure) is BackendError
    assert str(failure) == "Ollama rejected the request (400): missing request body"


def test_unauthorized_cloud_model_says_signin_with_url(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    failure, _ = chat_failure(
        make_backend(), [error(wire, "401-unauthorized-signin.json", 401)], show(), "qwen3.5:397b-cloud"
    )
    url = wire.json("errors/401-unauthorized-signin.json")["signin_url"]
    assert isinstance(failure, AuthRequired) and failure.signin_url == url
    assert "`ollama signin`" in str(failure) and url in str(failure)
    assert "\n" not in str(failure)


def test_unauthorized_without_url(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    failure, _ = chat_failure(make_backend(), [error(wire, "401-unauthorized.json", 401)], show(), "glm-4.6:cloud")
    assert isinstance(failure, AuthRequired) and failure.signin_url is None
    assert str(failure) == (
        "glm-4.6:cloud needs an Ollama account: this Ollama is not signed in (run `ollama signin` once, then retry)"
    )


def test_unauthorized_direct_cloud_asks_for_a_key(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    backend = make_backend(host="https://ollama.com")
    failure, _ = chat_failure(backend, [error(wire, "401-unauthorized.json", 401)], show(), "gpt-oss:120b-cloud")
    assert isinstance(failure, AuthRequired) and "OLLAMA_API_KEY" in str(failure)


def test_forbidden(make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]) -> None:
    failure, _ = chat_failure(make_backend(), [error(wire, "403-cloud-disabled.json", 403)], show(), "x:cloud")
    assert isinstance(failure, PermissionDenied) and "cloud models are turned off" in str(failure)
    failure, _ = chat_failure(
        make_backend(),
        [httpx.Response(403, json={"error": "this model requires a subscription"})],
        show(),
        "kimi-k2:1t-cloud",
    )
    assert isinstance(failure, PermissionDenied)
    assert str(failure) == (
        "Ollama refused kimi-k2:1t-cloud: this model requires a subscription "
        "(this model needs an Ollama subscription: https://ollama.com/upgrade)"
    )


def test_usage_limit(make_backend: Callable[..., OllamaBackend], show: Callable[..., dict[str, Any]]) -> None:
    limited = httpx.Response(
        429, json={"error": "you've reached your hourly usage limit"}, headers={"Retry-After": "30"}
    )
    failure, calls = chat_failure(make_backend(), [limited], show(), "gpt-oss:120b-cloud")
    assert isinstance(failure, RateLimited) and failure.retry_after == 30.0
    assert str(failure).startswith("Ollama usage limit reached: you've reached your hourly usage limit (wait")
    assert calls == 1  # a usage limit is not retried


def test_busy_server_is_retried_before_the_first_token(
    make_backend: Callable[..., OllamaBackend], wire: Any, show: Callable[..., dict[str, Any]]
) -> None:
    backend = make_backend()
    with respx.mock(base_url=HOST) as router:
        router.post("/api/show").mock(return_value=httpx.Response(200, json=show()))
        route = router.post("/api/chat").mock(
            side_effect=[
                error(wire, "503-server-busy.json", 503),
                error(wire, "500-model-failed-to-generate.json", 500),
                httpx.Response(200, content=OK),
            ]
        )
        events = list(backend.chat("llama3.2", USER, options=ChatOptions()))
    assert route.call_count == 3
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["fine"]
    assert [(e.level, e.text) for e in events if isinstance(e, Notice)] == [
        (
            "info",
            "Ollama is busy: server busy, please try again.  maximum pending requests exceeded; retry 1 in 0.01 s",
        ),
        ("info", "Ollama failed (500): the model failed to generate a response; retry 2 in 0.02 s"),
    ]


@pytest.mark.parametrize(
    ("name", "status", "kind", "line"),
    [
        (
            "503-server-busy.json",
            503,
            BackendError,
            "Ollama is busy: server busy, please try again.  maximum pending requests exceeded",
        ),
        ("500-model-failed-to-generate.json", 500, BackendError, "Ollama failed (500): the model failed to generate"),
        ("502-cloud-unreachable.json", 502, BackendUnavailable, "Ollama cannot reach its cloud for llama3.2: Post"),
    ],
)
def test_server_errors_give_up_after_retries(
    name: str,
    status: int,
    kind: type[BackendFailure],
    line: str,
    make_backend: Callable[..., OllamaBackend],
    wire: Any,
    show: Callable[..., dict[str, Any]],
) -> None:
    failure, calls = chat_failure(make_backend(retries=2), [error(wire, name, status)] * 3, show())
    assert isinstance(failure, kind) and str(failure).startswith(line)
    assert calls == 3


def test_connection_refused(make_backend: Callable[..., OllamaBackend], closed_port: int) -> None:
    backend = make_backend(host=f"127.0.0.1:{closed_port}")
    with pytest.raises(BackendUnavailable) as caught:
        list(backend.chat("qwen3", USER, options=ChatOptions()))
    assert str(caught.value) == (
        f"cannot connect to Ollama at http://127.0.0.1:{closed_port} (connection refused) "
        "(is Ollama running? start it with `ollama serve`, or point OLLAMA_HOST / --host at it)"
    )
    with pytest.raises(BackendUnavailable, match=r"OLLAMA_HOST=https://ollama\.com with OLLAMA_API_KEY"):
        list(backend.chat("qwen3.5:397b-cloud", USER, options=ChatOptions()))
    with pytest.raises(BackendUnavailable, match="cannot connect to Ollama"):
        backend.list_models()
    with pytest.raises(BackendUnavailable, match="cannot connect to Ollama"):
        backend.describe("qwen3")


def test_invalid_host_scheme(make_backend: Callable[..., OllamaBackend]) -> None:
    with pytest.raises(BackendUnavailable, match="invalid Ollama host 'ftp://example:21'"):
        make_backend(host="ftp://example:21").describe("qwen3")


def test_show_that_is_not_json(make_backend: Callable[..., OllamaBackend]) -> None:
    with respx.mock(base_url=HOST) as router:
        router.post("/api/show").mock(return_value=httpx.Response(200, text="<html>hello</html>"))
        with pytest.raises(BackendError, match="not JSON"):
            make_backend().describe("qwen3")


def test_health(make_backend: Callable[..., OllamaBackend], wire: Any, closed_port: int) -> None:
    with respx.mock(base_url=HOST) as router:
        router.get("/api/version").mock(return_value=httpx.Response(200, json=wire.json("version-response.json")))
        assert make_backend().health() == (True, "Ollama 0.5.1 at http://127.0.0.1:11434")
    usable, detail = make_backend(host=f"127.0.0.1:{closed_port}").health()
    assert not usable and detail.startswith("cannot connect to Ollama") and "ollama serve" in detail
    with respx.mock(base_url=HOST) as router:
        router.get("/api/version").mock(return_value=httpx.Response(200, text="nginx"))
        assert make_backend().health() == (False, "http://127.0.0.1:11434 is not Ollama")
