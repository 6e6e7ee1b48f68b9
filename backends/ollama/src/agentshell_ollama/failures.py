"""Ollama's HTTP errors turned into the protocol's one-line failures, each with its fix.

Ollama answers errors as ``{"error": "..."}`` (plus ``signin_url`` on a 401 from
a daemon that is not signed in). The status decides the class; the message is
Ollama's own, so nothing it says is lost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from agentshell.protocol import (
    AuthRequired,
    BackendError,
    BackendFailure,
    BackendUnavailable,
    ModelNotFound,
    PermissionDenied,
    RateLimited,
    ToolsUnsupported,
)
from agentshell_ollama.endpoint import is_direct_cloud

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
SIGNIN_HINT = "run `ollama signin` once, then retry"
API_KEY_HINT = "set OLLAMA_API_KEY to a key from https://ollama.com/settings/keys"
UPGRADE_URL = "https://ollama.com/upgrade"


def error_text(body: bytes | str) -> tuple[str, dict[str, Any]]:
    """Ollama's message from an error body (or the raw body when it is not Ollama's JSON)."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(raw)
    except ValueError:
        return raw.strip()[:200], {}
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return data["error"].strip(), data
    return raw.strip()[:200], data if isinstance(data, dict) else {}


def unreachable(host: str, detail: str, *, cloud_model: bool = False) -> BackendUnavailable:
    if is_direct_cloud(host):
        return BackendUnavailable(f"cannot reach Ollama's cloud at {host}: {detail}", hint="check your network")
    hint = "is Ollama running? start it with `ollama serve`, or point OLLAMA_HOST / --host at it"
    if cloud_model:
        hint += "; without a daemon, use OLLAMA_HOST=https://ollama.com with OLLAMA_API_KEY"
    return BackendUnavailable(f"cannot connect to Ollama at {host} ({detail})", hint=hint)


def http_failure(
    status: int,
    body: bytes | str,
    *,
    model: str,
    host: str,
    headers: Mapping[str, str] | None = None,
) -> BackendFailure:
    """The failure for an error status. ``model`` is the name the user typed."""
    message, data = error_text(body)
    lowered = message.lower()
    direct = is_direct_cloud(host)
    if status == 401:
        if direct:
            return AuthRequired(f"Ollama's cloud rejected the request ({message or 'unauthorized'})", hint=API_KEY_HINT)
        url = data.get("signin_url") if isinstance(data.get("signin_url"), str) else None
        hint = f"{SIGNIN_HINT} (or open {url})" if url else SIGNIN_HINT
        return AuthRequired(f"{model} needs an Ollama account: this Ollama is not signed in", hint=hint, signin_url=url)
    if status == 403:
        if "cloud is disabled" in lowered:
            hint = "cloud models are turned off in this Ollama: enable them in its settings, or pick a local model"
        else:
            hint = f"this model needs an Ollama subscription: {UPGRADE_URL}"
        return PermissionDenied(f"Ollama refused {model}: {message or 'forbidden'}", hint=hint)
    if status == 404 or ("not found" in lowered and "model" in lowered):
        hint = "check the name at https://ollama.com/search?c=cloud" if direct else f"run `agent pull {model}`"
        return ModelNotFound(f"model {model!r} not found at {host}", hint=hint)
    if status == 429:
        return RateLimited(
            f"Ollama usage limit reached: {message or 'too many requests'}",
            hint=f"wait and retry, or raise your limits at {UPGRADE_URL}",
            retry_after=_retry_after(headers),
        )
    if "does not support tools" in lowered:
        return ToolsUnsupported(
            f"{model} cannot call tools",
            hint="continue without tools, or pick a model with the tools capability (`agent models --backend ollama`)",
        )
    if "does not support thinking" in lowered:
        return BackendError(f"{model} cannot think", hint="run with --think off")
    if status == 503:
        return BackendError(f"Ollama is busy: {message}", hint="retry in a moment, or raise OLLAMA_MAX_QUEUE")
    if status == 502 and not direct:
        return BackendUnavailable(f"Ollama cannot reach its cloud for {model}: {message}", hint="check your network")
    if status >= 500:
        return BackendError(f"Ollama failed ({status}): {message}", hint="retry; `ollama serve` logs say more")
    return BackendError(f"Ollama rejected the request ({status}): {message}")


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare enough to leave to the user
