"""Which server a model string goes to.

A user reaches OpenAI-compatible servers two ways: the default server
(``--base-url`` / ``OPENAI_BASE_URL`` / ``[backends.openai] base_url``), and named
endpoints from the config (``[endpoints.cluster]``), used as ``cluster:MODEL``.
The registry only strips prefixes that are backend names, so ``cluster:MODEL``
reaches this backend whole and is split here.

Keys are read from the environment when a request is made, not when the
backend is built, so that a key exported after start-up (or rotated) is used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from agentshell.protocol import BackendError, BackendUnavailable

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"


@dataclass(frozen=True)
class Server:
    """One OpenAI-compatible API root."""

    label: str  # "default" or the endpoint's name, for messages
    base_url: str  # normalised, no trailing slash, e.g. http://gpu:8000/v1
    api_key: str | None = None  # given directly (option / OPENAI_API_KEY through config)
    api_key_env: str | None = None  # read at request time
    context_length: int | None = None  # from config, when the server does not say
    prefix: str = ""  # "cluster:" for named endpoints: how its models are named to the user

    def key(self) -> str | None:
        if self.api_key:
            return self.api_key
        if self.api_key_env:
            return os.environ.get(self.api_key_env) or None
        return None

    def key_hint(self) -> str:
        """How the user supplies a key for this server."""
        if self.api_key_env:
            return f"export {self.api_key_env}=... (api_key_env of [endpoints.{self.label}])"
        return "export OPENAI_API_KEY=... or set [backends.openai] api_key"

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream, application/json"}
        key = self.key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers


def normalize_base_url(url: str) -> str:
    """Accept ``host:port``, ``http://host:port`` or a full API root; add ``/v1`` when no path is given.

    Servers differ in where their API lives (``/v1``, ``/api/v1``, ``/openai/v1``),
    so a path the user wrote is kept as it is; only a bare host gets ``/v1``.
    """
    text = url.strip()
    if not text:
        raise BackendError("empty base URL", hint="pass --base-url http://HOST:PORT/v1")
    if "://" not in text:
        text = f"http://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BackendError(f"invalid base URL {url!r}", hint="use a form like http://HOST:PORT/v1")
    path = parts.path.rstrip("/")
    if not path:
        path = "/v1"
    netloc = parts.netloc
    return f"{parts.scheme}://{netloc}{path}"


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise BackendError(f"context_length must be a whole number, got {value!r}") from exc
    return number if number > 0 else None


class ServerTable:
    """The default server (if any) and the named endpoints, built from backend options."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        context_length = _int_or_none(options.get("context_length"))
        base_url = options.get("base_url")
        api_key = options.get("api_key") or None
        self.default: Server | None = None
        if base_url or api_key:
            # A key alone means the hosted OpenAI API, as with the official client.
            self.default = Server(
                label="default",
                base_url=normalize_base_url(str(base_url)) if base_url else DEFAULT_BASE_URL,
                api_key=str(api_key) if api_key else None,
                context_length=context_length,
            )
        self.endpoints: dict[str, Server] = {}
        raw = options.get("endpoints") or {}
        if isinstance(raw, Mapping):
            for name, spec in raw.items():
                if not isinstance(spec, Mapping) or not spec.get("base_url"):
                    continue  # the config layer validates; here an unusable entry is simply not routable
                self.endpoints[str(name)] = Server(
                    label=str(name),
                    base_url=normalize_base_url(str(spec["base_url"])),
                    api_key_env=spec.get("api_key_env") or None,
                    context_length=_int_or_none(spec.get("context_length")),
                    prefix=f"{name}:",
                )

    def servers(self) -> list[Server]:
        return ([self.default] if self.default else []) + list(self.endpoints.values())

    def is_endpoint_model(self, model: str) -> bool:
        head, sep, rest = model.partition(":")
        return bool(sep and rest and head in self.endpoints)  # the same test as manifest.claims_model

    def route(self, model: str) -> tuple[Server, str]:
        """The server for ``model`` and the model id that server expects."""
        if self.is_endpoint_model(model):
            head, _, rest = model.partition(":")
            return self.endpoints[head], rest
        if self.default is None:
            raise unconfigured()
        return self.default, model


def unconfigured() -> BackendUnavailable:
    return BackendUnavailable(
        "no OpenAI-compatible server is configured",
        hint="pass --base-url http://HOST:PORT/v1, set OPENAI_BASE_URL, or add [endpoints.NAME] "
        "base_url = ... to the config and use --model NAME:MODEL",
    )
