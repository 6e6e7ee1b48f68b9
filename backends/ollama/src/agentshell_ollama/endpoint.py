"""Where Ollama lives and which models leave this machine.

``OLLAMA_HOST`` is read the way Ollama's own ``envconfig.Host()`` reads it, so a
value that works for ``ollama`` works here: ``host``, ``host:port``, with or
without ``http://`` / ``https://``, an optional path prefix, and the bare word
``ollama.com`` meaning the cloud API over HTTPS.
"""

from __future__ import annotations

import contextlib
import ipaddress
from urllib.parse import urlsplit

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_PORT = 11434
CLOUD_HOSTNAMES = frozenset({"ollama.com", "www.ollama.com"})

# OLLAMA_HOST is often the address the *server* binds to; a client cannot connect to "any".
_BIND_ALL = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def parse_host(value: str | None) -> str:
    """Normalize an OLLAMA_HOST-style value to ``scheme://host:port[/path]`` (no trailing slash)."""
    text = (value or "").strip()
    if not text:
        return DEFAULT_HOST
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "http", text
        if text.rstrip("/") == "ollama.com":
            scheme, rest = "https", "ollama.com:443"
    scheme = scheme.strip().lower()
    default_port = {"http": 80, "https": 443}.get(scheme, DEFAULT_PORT) if sep else DEFAULT_PORT
    scheme = scheme or "http"  # "://host", as Ollama reads it: the default scheme and port
    hostport, _, path = rest.partition("/")
    host, port = _split_host_port(hostport, default_port)
    host = _BIND_ALL.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    suffix = f"/{path.rstrip('/')}" if path.strip("/") else ""
    return f"{scheme}://{shown}:{port}{suffix}"


def _split_host_port(hostport: str, default_port: int) -> tuple[str, int]:
    if not hostport:
        return "127.0.0.1", default_port
    if hostport.startswith("["):  # [v6]:port or [v6]
        host, _, tail = hostport[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
    else:  # a bare name, or a bare IPv6 address
        host, port_text = hostport, ""
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        port = default_port
    if not 0 < port < 65536:
        port = default_port
    with contextlib.suppress(ValueError):  # normalizes "::0001" and friends
        host = str(ipaddress.ip_address(host))
    return host or "127.0.0.1", port


def is_direct_cloud(host: str) -> bool:
    """True when requests go straight to Ollama's cloud API instead of through a daemon."""
    return (urlsplit(host).hostname or "") in CLOUD_HOSTNAMES


def is_cloud_model(model: str) -> bool:
    """``name:cloud`` or ``name:tag-cloud``: the daemon forwards these to Ollama's cloud."""
    _, sep, tag = model.rpartition(":")
    return bool(sep) and (tag == "cloud" or tag.endswith("-cloud"))


def cloud_api_name(model: str) -> str:
    """The name ollama.com's API expects: the daemon's ``-cloud`` suffix removed.

    ``gpt-oss:120b-cloud`` → ``gpt-oss:120b``; ``glm-4.6:cloud`` → ``glm-4.6``.
    """
    name, sep, tag = model.rpartition(":")
    if not sep:
        return model
    if tag == "cloud":
        return name
    if tag.endswith("-cloud"):
        return f"{name}:{tag[: -len('-cloud')]}"
    return model
