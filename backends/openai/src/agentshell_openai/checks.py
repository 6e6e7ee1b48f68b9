"""``agent doctor`` rows for the named endpoints: reachable, key present, an OpenAI model list.

Each endpoint gets one ``GET {base_url}/models``, independently of the backend's
own listing (no cache, its own deadline), so a server that is down, a key that is
missing or rejected, and a base URL without ``/v1`` each get their own fix.
"""

from __future__ import annotations

from agentshell.protocol import DoctorCheck
from agentshell_openai.endpoints import Server


def endpoint_check(server: Server, timeout: float) -> DoctorCheck:
    import httpx

    label = f"endpoint {server.label}"
    base = server.base_url
    headers = {}
    if server.api_key_env:
        key = server.key()
        if not key:
            return DoctorCheck(
                label,
                "warn",
                f"{base}: the API key variable {server.api_key_env} is not set",
                f"export {server.api_key_env}=...",
            )
        headers["Authorization"] = f"Bearer {key}"
    try:
        response = httpx.get(f"{base}/models", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return DoctorCheck(
            label,
            "fail",
            f"{base} is unreachable ({type(exc).__name__})",
            f"start the server, or fix [endpoints.{server.label}] base_url",
        )
    if response.status_code in (401, 403):
        return DoctorCheck(
            label,
            "fail",
            f"{base} rejected the API key (HTTP {response.status_code})",
            f"check the key in {server.api_key_env or 'api_key_env'}",
        )
    if response.status_code >= 400:
        return DoctorCheck(
            label,
            "warn",
            f"{base}/models answered HTTP {response.status_code}",
            "check the base URL; it usually ends in /v1",
        )
    try:
        count = len(response.json().get("data") or [])
    except (ValueError, AttributeError):
        return DoctorCheck(label, "warn", f"{base}/models is not an OpenAI model list", "check the base URL")
    return DoctorCheck(label, "ok", f"{base}: {count} model{'s' if count != 1 else ''}")
