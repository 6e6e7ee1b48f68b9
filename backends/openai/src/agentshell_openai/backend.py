"""The ``openai`` backend: any server that speaks ``/v1/chat/completions``.

vLLM, llama.cpp's ``llama-server``, LM Studio, Ollama's ``/v1`` and hosted
services all do. It talks HTTP with httpx directly (no ``openai`` package), so
the request carries exactly what the protocol says and nothing is hidden.

Options (``[backends.openai]`` in the config, or flags)::

    base_url         default server (OPENAI_BASE_URL); a bare host gets /v1
    api_key          its key (OPENAI_API_KEY)
    endpoints        named servers from [endpoints.NAME], used as NAME:MODEL
    context_length   assumed window when the server does not report one
    connect_timeout  seconds to open a connection (default 5)
    read_timeout     seconds to wait for any data, first token included (default 600: cold loads are slow)
    retries          retries of a 5xx answer before the first token (default 2)
    stream_usage     ask for token usage in the stream (default true; turn off for servers that reject it)
    extra_body       fields merged into every request (e.g. {"tool_choice": "required"})
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agentshell.protocol import (
    AuthRequired,
    BackendError,
    BackendFailure,
    BackendUnavailable,
    ChatOptions,
    DoctorCheck,
    Done,
    Event,
    Message,
    ModelInfo,
    Notice,
    Timings,
    ToolSpec,
    ToolsUnsupported,
    Usage,
)
from agentshell_openai.endpoints import Server, ServerTable, unconfigured
from agentshell_openai.errors import for_status, server_message
from agentshell_openai.stream import ChunkAssembler, sse_payloads
from agentshell_openai.wire import request_body

if TYPE_CHECKING:
    import httpx

_LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
_CONTEXT_KEYS = ("max_model_len", "context_length", "context_window", "max_context_length", "n_ctx")
_META_CONTEXT_KEYS = ("n_ctx", "n_ctx_train")


def _float_option(options: Mapping[str, Any], key: str, default: float) -> float:
    try:
        return float(options.get(key, default))
    except (TypeError, ValueError) as exc:
        raise BackendError(f"[backends.openai] {key} must be a number, got {options.get(key)!r}") from exc


def _bool_option(options: Mapping[str, Any], key: str, default: bool) -> bool:
    value = options.get(key, default)
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off")
    return bool(value)


def context_from_entry(entry: Mapping[str, Any]) -> int | None:
    """The context window a ``/models`` entry reports: vLLM's max_model_len, llama.cpp's meta, others."""
    for key in _CONTEXT_KEYS:
        value = entry.get(key)
        if isinstance(value, int) and value > 0:
            return value
    meta = entry.get("meta")
    if isinstance(meta, Mapping):
        for key in _META_CONTEXT_KEYS:
            value = meta.get(key)
            if isinstance(value, int) and value > 0:
                return value
    return None


def is_remote(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    return host not in _LOOPBACK


class OpenAIBackend:
    """Backend for OpenAI-compatible servers. Construction does no I/O."""

    name = "openai"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self._servers = ServerTable(options)
        self._connect_timeout = _float_option(options, "connect_timeout", 5.0)
        self._read_timeout = _float_option(options, "read_timeout", 600.0)
        self._retries = int(_float_option(options, "retries", 2))
        self._retry_backoff = _float_option(options, "retry_backoff", 0.5)
        self._stream_usage = _bool_option(options, "stream_usage", True)
        extra = options.get("extra_body")
        self._extra_body: dict[str, Any] = dict(extra) if isinstance(extra, Mapping) else {}
        self._client: httpx.Client | None = None
        self._debug = _bool_option(options, "debug", False)
        self._text_tools: set[tuple[str, str]] = set()  # (base_url, model id) that refused `tools`
        self._models: dict[str, list[ModelInfo]] = {}  # base_url -> listing, cached for describe()

    # ------------------------------------------------------------------ discovery

    def claims(self, model: str) -> bool:
        # Only named endpoints: a bare name is ambiguous and belongs to Ollama's catch-all.
        return self._servers.is_endpoint_model(model)

    def list_models(self) -> list[ModelInfo]:
        servers = self._servers.servers()
        if not servers:
            raise unconfigured()
        found: list[ModelInfo] = []
        failure: BackendFailure | None = None
        for server in servers:
            try:
                found.extend(self._list(server))
            except BackendFailure as exc:
                failure = failure or exc
        if not found and failure is not None:
            raise failure
        return found

    def describe(self, model: str) -> ModelInfo:
        server, model_id = self._servers.route(model)
        try:
            listing = self._list(server)
        except (AuthRequired, BackendUnavailable):
            raise
        except BackendFailure:
            listing = []  # a server without /models still chats
        for info in listing:
            if info.name == f"{server.prefix}{model_id}":
                return info
        return ModelInfo(
            name=model,
            backend=self.name,
            context_length=server.context_length,
            capabilities=frozenset({"completion", "tools"}),
            details={"server": server.base_url},
            remote=is_remote(server.base_url),
        )

    def config_checks(self, timeout: float) -> list[DoctorCheck]:
        """One ``agent doctor`` row per named endpoint (probes of at most 5 s: a listing is quick or broken)."""
        from agentshell_openai.checks import endpoint_check

        return [endpoint_check(server, min(timeout, 5.0)) for server in self._servers.endpoints.values()]

    def health(self) -> tuple[bool, str]:
        servers = self._servers.servers()
        if not servers:
            return False, "no server configured (set OPENAI_BASE_URL or add [endpoints.NAME] to the config)"
        lines: list[str] = []
        usable = False
        for server in servers:
            try:
                count = len(self._list(server, timeout=2.0, cache=False))
            except BackendFailure as exc:
                lines.append(f"{server.label} {server.base_url}: {exc}")
                continue
            usable = True
            lines.append(f"{server.label} {server.base_url}: {count} model{'s' if count != 1 else ''}")
        return usable, "; ".join(lines)

    # ------------------------------------------------------------------ chat

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions,
    ) -> Iterator[Event]:
        server, model_id = self._servers.route(model)
        # A server that refused `tools` for this model gets them as text (agentshell_chatformat.textmode).
        text_tools = bool(tools) and (server.base_url, model_id) in self._text_tools
        while True:
            body = request_body(
                model_id,
                messages,
                tools,
                options,
                stream_usage=self._stream_usage,
                extra_body=self._extra_body,
                text_tools=text_tools,
            )
            try:
                yield from self._stream(server, model_id, body, tools)
                return
            except ToolsUnsupported as refusal:
                if text_tools or not tools:
                    raise
                text_tools = True
                self._text_tools.add((server.base_url, model_id))
                yield Notice(level="info", text=f"{refusal.message}: its tools are described in the prompt instead")

    def _stream(
        self, server: Server, model_id: str, body: dict[str, Any], tools: Sequence[ToolSpec] = ()
    ) -> Iterator[Event]:
        import httpx

        client = self._http()
        url = f"{server.base_url}/chat/completions"
        started = time.perf_counter()
        attempt = 0
        while True:
            assembler = ChunkAssembler(server.base_url, tools=tools, debug=self._debug)
            try:
                with client.stream("POST", url, json=body, headers=server.headers()) as response:
                    if response.status_code >= 400:
                        error = for_status(
                            response.status_code, response.read(), response.headers, server=server, model=model_id
                        )
                        if response.status_code >= 500 and attempt < self._retries:
                            attempt += 1
                            time.sleep(self._retry_backoff * attempt)
                            continue
                        raise error
                    yield from self._events(response, assembler, started)
                    return
            except httpx.ConnectError as exc:
                raise BackendUnavailable(
                    f"cannot connect to {server.base_url} ({type(exc).__name__})",
                    hint="is the server running? check --base-url / OPENAI_BASE_URL or the endpoint's base_url",
                ) from exc
            except httpx.ConnectTimeout as exc:
                raise BackendUnavailable(
                    f"timed out connecting to {server.base_url} after {self._connect_timeout:g} s",
                    hint="check the host and port, or raise [backends.openai] connect_timeout",
                ) from exc
            except httpx.ReadTimeout as exc:
                phase = "after the answer started" if assembler.saw_content else "before the first token"
                raise BackendError(
                    f"{server.base_url} sent nothing for {self._read_timeout:g} s {phase}",
                    hint="the server may be overloaded or still loading the model; "
                    "raise [backends.openai] read_timeout",
                ) from exc
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if not assembler.saw_content and attempt < self._retries:
                    attempt += 1
                    time.sleep(self._retry_backoff * attempt)
                    continue
                raise BackendError(
                    f"the connection to {server.base_url} broke {'mid-answer' if assembler.saw_content else ''}".strip()
                    + f" ({type(exc).__name__})",
                    hint="the server may have crashed or restarted; check its log and retry",
                ) from exc
            except httpx.HTTPError as exc:
                raise BackendError(f"request to {server.base_url} failed: {exc}") from exc

    def _events(self, response: httpx.Response, assembler: ChunkAssembler, started: float) -> Iterator[Event]:
        first_token_ms: float | None = None
        content_type = response.headers.get("content-type", "")
        if "json" in content_type and "event-stream" not in content_type:
            # A server that ignored "stream": the whole completion in one body.
            payloads: Iterator[str] = iter([response.read().decode("utf-8", "replace")])
            assembler.saw_done = True
        else:
            payloads = sse_payloads(response.iter_lines())
        for payload in payloads:
            for event in assembler.feed(payload):
                if first_token_ms is None:
                    first_token_ms = (time.perf_counter() - started) * 1000
                yield event
        if not assembler.complete:
            where = assembler.where
            raise BackendError(
                f"the stream from {where} ended before the answer was complete (no [DONE])",
                hint="the server may have crashed or hit an error it could not report (see its log); "
                "the partial answer was kept",
            )
        calls = assembler.finish()  # held text, native calls, calls recovered from the text
        for call in calls:
            if first_token_ms is None:
                first_token_ms = (time.perf_counter() - started) * 1000
            yield call
        elapsed_ms = (time.perf_counter() - started) * 1000
        yield Done(
            stop_reason=assembler.stop_reason(assembler.called),
            usage=assembler.usage or Usage(),
            timings=self._timings(assembler, elapsed_ms, first_token_ms),
        )

    @staticmethod
    def _timings(assembler: ChunkAssembler, elapsed_ms: float, first_token_ms: float | None) -> Timings:
        server = assembler.server_timings or {}
        prompt_ms = server.get("prompt_ms")
        predicted_ms = server.get("predicted_ms")
        return Timings(
            prompt_ms=float(prompt_ms) if isinstance(prompt_ms, int | float) else None,
            generation_ms=float(predicted_ms) if isinstance(predicted_ms, int | float) else elapsed_ms,
            first_token_ms=first_token_ms,
        )

    # ------------------------------------------------------------------ HTTP plumbing

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            timeout = httpx.Timeout(connect=self._connect_timeout, read=self._read_timeout, write=60.0, pool=10.0)
            self._client = httpx.Client(timeout=timeout, follow_redirects=True)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _list(self, server: Server, *, timeout: float | None = None, cache: bool = True) -> list[ModelInfo]:
        if cache and server.base_url in self._models:
            return self._models[server.base_url]
        import httpx

        url = f"{server.base_url}/models"
        limit = (
            httpx.Timeout(timeout)
            if timeout is not None
            else httpx.Timeout(connect=self._connect_timeout, read=30.0, write=30.0, pool=10.0)
        )
        try:
            response = self._http().get(url, headers=server.headers(), timeout=limit)
        except httpx.ConnectError as exc:
            raise BackendUnavailable(
                f"cannot connect to {server.base_url}", hint="is the server running? check the base URL"
            ) from exc
        except httpx.TimeoutException as exc:
            raise BackendUnavailable(
                f"{server.base_url} did not answer in time", hint="check the host and port"
            ) from exc
        except httpx.HTTPError as exc:
            raise BackendError(f"listing models at {server.base_url} failed: {exc}") from exc
        if response.status_code >= 400:
            raise for_status(response.status_code, response.content, response.headers, server=server, model="*")
        try:
            data = response.json()
        except ValueError as exc:
            raise BackendError(
                f"{url} did not return JSON: {server_message(response.content)[:120]!r}",
                hint="check the base URL; it usually ends in /v1",
            ) from exc
        entries = data.get("data") if isinstance(data, dict) else data
        infos: list[ModelInfo] = []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not entry.get("id"):
                continue
            details = {"server": server.base_url}
            if entry.get("owned_by"):
                details["owned_by"] = str(entry["owned_by"])
            infos.append(
                ModelInfo(
                    name=f"{server.prefix}{entry['id']}",
                    backend=self.name,
                    context_length=context_from_entry(entry) or server.context_length,
                    capabilities=frozenset({"completion", "tools"}),
                    details=details,
                    remote=is_remote(server.base_url),
                )
            )
        self._models[server.base_url] = infos
        return infos
