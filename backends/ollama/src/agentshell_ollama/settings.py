"""The ollama backend's options, read from the merged config/flags mapping.

Values may arrive as strings (environment variables, TOML written by hand), so
numbers are converted here once; a value that cannot be used is reported with
the option's name instead of failing later inside a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentshell.protocol import BackendError
from agentshell_ollama.endpoint import parse_host

# Ollama's advice for agents: 64k tokens on local models, enough for tools and files.
DEFAULT_MAX_CONTEXT = 65536


@dataclass(frozen=True)
class OllamaSettings:
    host: str = "http://127.0.0.1:11434"
    api_key: str | None = None
    connect_timeout: float = 5.0  # seconds to open the TCP connection
    first_token_timeout: float = 600.0  # a cold load of a big model can take minutes
    idle_timeout: float = 120.0  # longest silence between two chunks once the answer started
    loading_notice_after: float = 2.0  # say "loading model…" when the first token takes longer
    max_context: int = DEFAULT_MAX_CONTEXT  # cap on num_ctx for local models
    keep_alive: str | None = None  # how long Ollama keeps the model loaded ("5m", "-1")
    retries: int = 3  # attempts after a 5xx before the first token
    retry_backoff: float = 0.5  # seconds, doubled after each retry
    debug: bool = False

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> OllamaSettings:
        api_key = options.get("api_key")
        keep_alive = options.get("keep_alive")
        return cls(
            host=parse_host(_text(options, "host")),
            api_key=str(api_key) if api_key else None,
            connect_timeout=_number(options, "connect_timeout", cls.connect_timeout),
            first_token_timeout=_number(options, "first_token_timeout", cls.first_token_timeout),
            idle_timeout=_number(options, "idle_timeout", cls.idle_timeout),
            loading_notice_after=_number(options, "loading_notice_after", cls.loading_notice_after),
            max_context=int(_number(options, "max_context", cls.max_context)),
            keep_alive=str(keep_alive) if keep_alive not in (None, "") else None,
            retries=int(_number(options, "retries", cls.retries, minimum=0)),
            retry_backoff=_number(options, "retry_backoff", cls.retry_backoff, minimum=0),
            debug=bool(options.get("debug", False)),
        )


def _text(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    return None if value is None else str(value)


def _number(options: Mapping[str, Any], key: str, default: float, *, minimum: float = 1e-9) -> float:
    value = options.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number >= minimum:  # also rejects NaN
        raise BackendError(
            f"invalid ollama option {key}={value!r}",
            hint=f"use a number{' above 0' if minimum > 0 else ''} in [backends.ollama] or the flag",
        )
    return number
