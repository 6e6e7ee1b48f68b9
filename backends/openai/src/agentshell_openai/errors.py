"""HTTP failures of OpenAI-compatible servers, turned into the protocol's one-line errors.

Servers disagree on the shape of an error body: OpenAI and vLLM send
``{"error": {"message": ...}}``, llama.cpp's server sometimes a bare string,
FastAPI-based servers ``{"detail": ...}``. :func:`server_message` reads them all
so the user sees the server's own words, shortened to one line.
"""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

from agentshell.protocol import (
    AuthRequired,
    BackendError,
    BackendFailure,
    ContextOverflow,
    ModelNotFound,
    PermissionDenied,
    RateLimited,
    ToolsUnsupported,
)
from agentshell_openai.endpoints import Server

MAX_MESSAGE = 300

_CONTEXT_WORDS = (
    "context length",
    "context_length",
    "maximum context",
    "context window",
    "too many tokens",
    "exceeds the available context",
    "prompt is too long",
    "n_ctx",
)
_TOOL_WORDS = (
    "does not support tools",
    "tools are not supported",
    "tool use is not supported",
    "does not support function",
    "tool_choice",
    "tool choice requires",  # vLLM without --enable-auto-tool-choice
    "tools param requires",  # llama-server without --jinja
    "tool calling is not supported",
)


def one_line(text: str) -> str:
    """First non-empty line, shortened: server messages can be multi-line tracebacks."""
    for line in text.strip().splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"
    return ""


def server_message(body: bytes | str) -> str:
    """The human part of an error body, whatever its shape."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data: Any = json.loads(text)
    except ValueError:
        return one_line(text)
    return one_line(_message_from(data)) or one_line(text)


def _message_from(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("error", "detail", "message"):
            if key in data:
                inner = data[key]
                if isinstance(inner, dict):
                    return str(inner.get("message") or inner.get("msg") or inner)
                if isinstance(inner, list) and inner:
                    first = inner[0]
                    return str(first.get("msg") if isinstance(first, dict) else first)
                return str(inner)
    return ""


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def for_status(status: int, body: bytes, headers: Any, *, server: Server, model: str) -> BackendFailure:
    """The protocol error for an HTTP status from ``/chat/completions``."""
    detail = server_message(body)
    where = server.base_url
    said = f": {detail}" if detail else ""
    lowered = detail.lower()
    if status == 401:
        return AuthRequired(f"{where} rejected the request as unauthorised{said}", hint=server.key_hint())
    if status == 403:
        return PermissionDenied(
            f"{where} refused access to {model!r}{said}", hint="check that your account or key may use this model"
        )
    if status == 404:
        if "model" in lowered or not detail:
            return ModelNotFound(f"model {model!r} is not served by {where}{said}", hint=_models_hint(server))
        return BackendError(
            f"{where}/chat/completions was not found{said}",
            hint="check the base URL; OpenAI-compatible APIs usually end in /v1",
        )
    if status == 429:
        retry = retry_after_seconds(headers.get("retry-after") if headers is not None else None)
        wait = f"retry in {retry:.0f} s" if retry is not None else "wait a moment and retry"
        return RateLimited(f"{where} is rate limiting requests{said}", hint=wait, retry_after=retry)
    if status == 413 or any(word in lowered for word in _CONTEXT_WORDS):
        return ContextOverflow(
            f"the conversation does not fit {model!r}'s context window{said}", hint="start a new session or /compact"
        )
    if status in (400, 422) and any(word in lowered for word in _TOOL_WORDS):
        return ToolsUnsupported(
            f"{model!r} on {where} cannot call tools{said}",
            hint="pick a model (or server chat template) with tool support",
        )
    if status in (400, 422):
        return BackendError(f"{where} rejected the request for {model!r}{said}")
    if status >= 500:
        return BackendError(
            f"{where} failed with HTTP {status}{said}", hint="the server had an internal error; check its log"
        )
    return BackendError(f"{where} answered HTTP {status}{said}")


def _models_hint(server: Server) -> str:
    if server.prefix:
        return f"list the served models with: agent models --backend openai (names start with {server.prefix})"
    return "list the served models with: agent models --backend openai"
