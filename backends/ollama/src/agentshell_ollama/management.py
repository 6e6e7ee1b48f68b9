"""Listing and pulling through the official ``ollama`` client, where it is faithful.

``/api/tags`` and the ``/api/pull`` progress stream come back from the package
unchanged, so these two go through it; chat does not (see ``request.py``). The
package is imported here only, when a user lists or pulls.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentshell.protocol import BackendError, BackendFailure, ModelNotFound
from agentshell_ollama.endpoint import is_direct_cloud
from agentshell_ollama.failures import http_failure, unreachable

if TYPE_CHECKING:
    from agentshell_ollama.settings import OllamaSettings


@dataclass(frozen=True)
class TaggedModel:
    """One row of ``/api/tags``."""

    name: str
    digest: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class PullProgress:
    """One line of the pull stream: a status, and byte counts while a layer downloads."""

    status: str
    digest: str | None = None
    total: int | None = None
    completed: int | None = None


def official_client(settings: OllamaSettings) -> Any:
    import httpx
    import ollama

    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    timeout = httpx.Timeout(connect=settings.connect_timeout, read=settings.idle_timeout, write=30.0, pool=30.0)
    return ollama.Client(host=settings.host, headers=headers, timeout=timeout)


def _translate(exc: Exception, settings: OllamaSettings, model: str) -> BackendFailure | None:
    import httpx
    import ollama

    if isinstance(exc, ollama.ResponseError):
        if exc.status_code == -1 or (exc.status_code == 404 and model):  # an {"error"} line in a pull stream
            return None
        return http_failure(exc.status_code, str(exc.error), model=model, host=settings.host)
    if isinstance(exc, httpx.ConnectTimeout):
        return unreachable(settings.host, "timed out")
    if isinstance(exc, ConnectionError | httpx.ConnectError):  # the package turns ConnectError into ConnectionError
        return unreachable(settings.host, "connection refused")
    if isinstance(exc, httpx.HTTPError):
        return BackendError(f"talking to Ollama at {settings.host} failed: {exc}", hint="retry")
    return None


def list_tags(settings: OllamaSettings) -> list[TaggedModel]:
    import httpx
    import ollama

    client = official_client(settings)
    try:
        listing = client.list()
    except (ollama.ResponseError, ConnectionError, httpx.HTTPError) as exc:
        raise (_translate(exc, settings, "") or BackendError(f"cannot list Ollama's models: {exc}")) from None
    rows = []
    for entry in listing.models:
        if not entry.model:
            continue
        details = entry.details.model_dump(exclude_none=True) if entry.details is not None else {}
        rows.append(TaggedModel(name=entry.model, digest=entry.digest, details=details))
    return rows


def pull(settings: OllamaSettings, model: str) -> Iterator[PullProgress]:
    import httpx
    import ollama

    if is_direct_cloud(settings.host):
        raise BackendError(
            "models on ollama.com run there and need no pull",
            hint=f"use it directly: agent launch --model {model}",
        )
    client = official_client(settings)
    try:
        for part in client.pull(model, stream=True):
            yield PullProgress(status=part.status or "", digest=part.digest, total=part.total, completed=part.completed)
    except (ollama.ResponseError, ConnectionError, httpx.HTTPError) as exc:
        failure = _translate(exc, settings, model)
        if failure is not None:
            raise failure from None
        message = str(getattr(exc, "error", exc))
        if "file does not exist" in message or "not found" in message:
            raise ModelNotFound(
                f"{model!r} is not in Ollama's library", hint="check the name at https://ollama.com/search"
            ) from None
        raise BackendError(
            f"pulling {model} failed: {message}", hint="retry; a pull resumes where it stopped"
        ) from None
