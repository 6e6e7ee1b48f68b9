"""The Ollama backend: local models through the daemon, cloud models through it or ollama.com.

Construction does no I/O and imports nothing heavy; ``httpx`` is imported when
the first request is made, the official ``ollama`` package only to list or pull.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentshell.protocol import (
    BackendError,
    BackendFailure,
    BackendUnavailable,
    ChatOptions,
    Event,
    Message,
    ModelInfo,
    ModelNotFound,
    Notice,
    ToolSpec,
    ToolsUnsupported,
    host_of,
)
from agentshell_ollama.catalog import ShowCache, ShowFacts, display_details, model_info, parse_show
from agentshell_ollama.endpoint import cloud_api_name, is_cloud_model, is_direct_cloud
from agentshell_ollama.failures import RETRYABLE_STATUS, http_failure, unreachable
from agentshell_ollama.manifest import claims_model
from agentshell_ollama.request import chat_body, wire_think
from agentshell_ollama.settings import OllamaSettings
from agentshell_ollama.stream import ChatStreamDecoder, StreamEvent

if TYPE_CHECKING:
    import httpx
    from agentshell_chatformat import CallRecovery

    from agentshell_ollama.management import PullProgress
    from agentshell_ollama.transport import Opened, StreamingRequest

SHOW_TIMEOUT = 30.0  # seconds for /api/show: a daemon answers it from disk
HEALTH_TIMEOUT = 1.0
LIST_WORKERS = 8  # parallel /api/show requests when listing
TEXT_TOOLS_NOTICE = (
    "{model} has no native tool calling in Ollama: its tools are described in the prompt "
    "and its calls read from its text"
)


def _tls_context(host: str) -> Any:
    """TLS settings for the client: the system's CA bundle, except for a plain-HTTP host.

    A local daemon speaks plain HTTP, where loading the CA bundle only costs start-up
    time (50-300 ms, the largest part of a first request). A context that trusts
    nothing takes its place: TLS is never negotiated, and if it were, it would fail
    closed instead of skipping verification.
    """
    if not host.startswith("http://"):
        return True
    import ssl

    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _request_summary(host: str, body: Mapping[str, Any], size: int) -> str:
    """One --debug line: what decides how the model behaves, without the conversation itself."""
    options = body.get("options", {})
    parts = [
        f"POST {host}/api/chat model={body['model']}",
        f"messages={len(body['messages'])}",
        f"tools={len(body.get('tools', ()))}",
        f"num_ctx={options.get('num_ctx', 'server default')}",
        f"think={body.get('think', 'unset')}",
        f"bytes={size}",
    ]
    return " ".join(parts)


def _recovery(tools: Sequence[ToolSpec], constrain: bool) -> CallRecovery | None:
    """Reads the calls a model wrote as text (agentshell_chatformat, imported only when tools are offered)."""
    if not tools:
        return None
    from agentshell_chatformat import ANSWER_KEY, CallRecovery

    return CallRecovery(tools, answer_key=ANSWER_KEY if constrain else None)


class _Retry(Exception):
    def __init__(self, failure: BackendFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


class OllamaBackend:
    name = "ollama"

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.settings = OllamaSettings.from_options(options)
        self._agent = host_of(options)  # the agent's version and data folder; None when built on its own
        self._client: httpx.Client | None = None
        self._facts: dict[str, ShowFacts | None] = {}
        self._num_ctx: dict[str, int | None] = {}
        self._cloud_warned = False
        self._text_tools: set[str] = set()  # models known to lack native tool calling
        # Opt-in: hold text-tool replies to "one call or an answer" with Ollama's `format` (see docs).
        self._constrain_text_tools = str(options.get("constrain_text_tools", "")).lower() in ("1", "true", "yes", "on")

    # ------------------------------------------------------------------ identity

    def claims(self, model: str) -> bool:
        return claims_model(model)

    def is_remote(self, model: str) -> bool:
        return is_direct_cloud(self.settings.host) or is_cloud_model(model)

    def api_name(self, model: str) -> str:
        """The name to send: ollama.com's API knows cloud models without the daemon's ``-cloud`` suffix."""
        return cloud_api_name(model) if is_direct_cloud(self.settings.host) else model

    # ------------------------------------------------------------------ HTTP

    def _http(self) -> httpx.Client:
        if self._client is None:
            import httpx

            headers = {"User-Agent": f"agentshell/{self._agent.version}" if self._agent else "agentshell"}
            s = self.settings
            if s.api_key and s.host.startswith("https://"):
                # Over plain HTTP the key would travel in clear text, and a daemon does not need it.
                headers["Authorization"] = f"Bearer {s.api_key}"
            try:
                httpx.URL(s.host)
            except (httpx.InvalidURL, ValueError):
                raise BackendUnavailable(
                    f"invalid Ollama host {s.host!r}", hint="use host, host:port or http(s)://host:port"
                ) from None
            self._client = httpx.Client(
                base_url=s.host,
                headers=headers,
                verify=_tls_context(s.host),
                timeout=httpx.Timeout(
                    connect=s.connect_timeout,
                    # The worker's own limit; the consumer enforces the precise first-token and idle timeouts.
                    read=max(s.first_token_timeout, s.idle_timeout) + 1.0,
                    write=30.0,
                    pool=s.connect_timeout,
                ),
            )
        return self._client

    def _failure(self, exc: Exception, model: str = "") -> BackendFailure:
        import httpx

        host = self.settings.host
        if isinstance(exc, BackendFailure):
            return exc
        if isinstance(exc, httpx.ConnectTimeout):
            return unreachable(host, "timed out", cloud_model=is_cloud_model(model))
        if isinstance(exc, httpx.ConnectError):
            return unreachable(host, "connection refused", cloud_model=is_cloud_model(model))
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return BackendUnavailable(
                f"invalid Ollama host {host!r}", hint="use host, host:port or http(s)://host:port"
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            return BackendError(
                "the connection to Ollama was cut before the answer finished", hint="retry; check `ollama serve` logs"
            )
        if isinstance(exc, httpx.TimeoutException):
            return BackendError(f"Ollama at {host} did not answer in time", hint="retry, or raise the ollama timeouts")
        return BackendError(f"talking to Ollama at {host} failed: {type(exc).__name__}: {exc}", hint="retry")

    # ------------------------------------------------------------------ models

    def show(self, model: str) -> ShowFacts:
        """``/api/show`` for one model (cached per instance)."""
        facts = self._facts.get(model)
        if facts is not None:
            return facts
        import httpx

        try:
            response = self._http().post("/api/show", json={"model": self.api_name(model)}, timeout=SHOW_TIMEOUT)
        except httpx.HTTPError as exc:
            raise self._failure(exc, model) from None
        if response.status_code >= 400:
            raise http_failure(
                response.status_code, response.content, model=model, host=self.settings.host, headers=response.headers
            )
        try:
            data = response.json()
        except ValueError:
            raise BackendError(
                f"Ollama at {self.settings.host} answered /api/show with something that is not JSON",
                hint="check that --host points at Ollama",
            ) from None
        facts = parse_show(data if isinstance(data, dict) else {})
        self._facts[model] = facts
        return facts

    def _facts_for_chat(self, model: str) -> ShowFacts | None:
        """Show facts, or None for a cloud model the server will not describe: its chat may still work."""
        if model in self._facts:
            return self._facts[model]
        try:
            return self.show(model)
        except (ModelNotFound, BackendError):  # not auth, limits or connection: those fail the chat too
            if not self.is_remote(model):
                raise
            self._facts[model] = None
            return None

    def context_window(self, model: str, facts: ShowFacts | None, requested: int | None = None) -> int | None:
        """num_ctx for this model, fixed for the life of the instance (a change makes Ollama reload the model)."""
        if requested is not None:
            return requested
        if model not in self._num_ctx:
            trained = facts.trained_context if facts is not None else None
            if self.is_remote(model):
                window = trained  # the cloud serves the full length; unknown means "the server's default"
            else:
                window = min(trained, self.settings.max_context) if trained else self.settings.max_context
            self._num_ctx[model] = window
        return self._num_ctx[model]

    def describe(self, model: str) -> ModelInfo:
        facts = self._facts_for_chat(model)
        if facts is None:
            # Every model on Ollama's cloud calls tools; saying otherwise would make the agent drop them.
            return ModelInfo(
                name=model,
                backend=self.name,
                capabilities=frozenset({"completion", "tools"}),
                details={"note": "not described by the server"},
                remote=True,
            )
        return model_info(model, facts, context_length=self.context_window(model, facts), remote=self.is_remote(model))

    def list_models(self) -> list[ModelInfo]:
        from concurrent.futures import ThreadPoolExecutor

        from agentshell_ollama.management import list_tags

        tags = list_tags(self.settings)
        # /api/show answers per digest never change, so they are kept between runs (in memory without a host).
        cache = ShowCache(self._agent.data_dir / "ollama" / "show-cache.json" if self._agent else None)
        known: dict[str, ShowFacts | None] = {}
        missing = []
        for tag in tags:
            cached = cache.get(f"{self.settings.host}|{tag.digest}") if tag.digest else None
            if cached is not None:
                known[tag.name] = self._facts[tag.name] = cached
            else:
                missing.append(tag)

        def fetch(name: str) -> ShowFacts | None:
            try:
                return self.show(name)
            except BackendFailure:  # e.g. a cloud model while signed out: list it without details
                return None

        if missing:
            self._http()  # created once, before the threads share it
            with ThreadPoolExecutor(max_workers=min(LIST_WORKERS, len(missing))) as pool:
                for tag, facts in zip(missing, pool.map(fetch, [t.name for t in missing]), strict=True):
                    known[tag.name] = facts
                    if facts is not None and tag.digest:
                        cache.put(f"{self.settings.host}|{tag.digest}", facts)
            cache.save()
        rows = []
        for tag in tags:
            facts = known.get(tag.name)
            listed = display_details(tag.details)
            remote = self.is_remote(tag.name)
            if facts is None:
                rows.append(ModelInfo(name=tag.name, backend=self.name, details=listed, remote=remote))
            else:
                window = self.context_window(tag.name, facts)
                rows.append(model_info(tag.name, facts, context_length=window, remote=remote, listed=listed))
        return rows

    def pull(self, model: str) -> Iterator[PullProgress]:
        from agentshell_ollama.management import pull

        return pull(self.settings, model)

    def health(self) -> tuple[bool, str]:
        import httpx

        host = self.settings.host
        try:
            response = self._http().get("/api/version", timeout=HEALTH_TIMEOUT)
            version = response.json().get("version") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return False, str(self._failure(exc) if isinstance(exc, httpx.HTTPError) else f"{host} is not Ollama")
        if not isinstance(version, str):
            return False, f"{host} answered /api/version with status {response.status_code}: is it Ollama?"
        return True, f"Ollama {version} at {host}"

    # ------------------------------------------------------------------ chat

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions,
    ) -> Iterator[Event]:
        started = time.monotonic()
        facts = self._facts_for_chat(model)
        if self.is_remote(model) and not self._cloud_warned:
            self._cloud_warned = True
            yield Notice(
                level="warning",
                text=f"{model} runs on Ollama's cloud: this conversation leaves this machine",
            )
        can_think = None if facts is None else "thinking" in facts.capabilities
        if can_think is False and options.think not in (None, "off"):
            yield Notice(level="warning", text=f"{model} has no thinking capability; answering without thinking")
        num_ctx = self.context_window(model, facts, options.context_length)
        # A model without native tool calling gets the text tool format (agentshell_chatformat.textmode).
        lacks_tools = facts is not None and "tools" not in facts.capabilities
        text_tools = bool(tools) and (model in self._text_tools or lacks_tools)
        attempt = 0
        while True:
            if text_tools and model not in self._text_tools:
                self._text_tools.add(model)
                yield Notice(level="info", text=TEXT_TOOLS_NOTICE.format(model=model))
            constrain = text_tools and self._constrain_text_tools
            body = chat_body(
                self.api_name(model),
                messages,
                tools=tools,
                options=options,
                num_ctx=num_ctx,
                think=wire_think(options.think, can_think),
                keep_alive=options.keep_alive or self.settings.keep_alive,
                text_tools=text_tools,
                constrain=constrain,
            )
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            if self.settings.debug:
                yield Notice(level="info", text=_request_summary(self.settings.host, body, len(content)))
            recovery = _recovery(tools, constrain)
            decoder = ChatStreamDecoder(
                model=model,
                num_ctx=num_ctx,
                estimated_prompt_tokens=len(content) // 4,
                recovery=recovery,
                debug=self.settings.debug,
            )
            try:
                yield from self._stream(model, content, decoder, started)
                return
            except ToolsUnsupported:
                if text_tools or not tools or decoder.shown:
                    raise
                text_tools = True  # "does not support tools": the same request once more, tools as text
            except _Retry as retry:
                if attempt >= self.settings.retries:
                    raise retry.failure from None
                delay = self.settings.retry_backoff * 2**attempt
                attempt += 1
                yield Notice(level="info", text=f"{retry.failure.message}; retry {attempt} in {delay:g} s")
                time.sleep(delay)

    def _stream(self, model: str, content: bytes, decoder: ChatStreamDecoder, started: float) -> Iterator[StreamEvent]:
        from agentshell_ollama.transport import StreamingRequest

        client = self._http()
        request = client.build_request(
            "POST", "/api/chat", content=content, headers={"Content-Type": "application/json"}
        )
        connection = StreamingRequest(client, request).start()
        try:
            yield from self._consume(model, connection, decoder, started)
        finally:
            connection.close()

    def _consume(
        self, model: str, connection: StreamingRequest, decoder: ChatStreamDecoder, started: float
    ) -> Iterator[StreamEvent]:
        from agentshell_ollama.transport import Data, Failed, Finished, Opened

        s = self.settings
        first_token_deadline = started + s.first_token_timeout
        notice_at = started + s.loading_notice_after
        noticed = False
        buffer = b""
        held: list[StreamEvent] = []  # the final events wait for the body's end, so the connection is reused
        while True:
            if decoder.done:
                wait: float = 1.0
            elif decoder.shown:
                wait = s.idle_timeout
            else:
                now = time.monotonic()
                if not noticed and now >= notice_at:
                    noticed = True
                    yield Notice(level="loading", text="loading model…")
                wait = max(0.0, (first_token_deadline if noticed else min(notice_at, first_token_deadline)) - now)
            piece = connection.next(wait)
            if piece is None:
                if decoder.done:
                    break
                if decoder.shown:
                    raise BackendError(
                        f"Ollama sent nothing for {s.idle_timeout:g} s in the middle of the answer",
                        hint="retry; raise idle_timeout if the machine is busy",
                    )
                if time.monotonic() >= first_token_deadline:
                    raise BackendError(
                        f"{model} sent no answer within {s.first_token_timeout:g} s",
                        hint="the model may still be loading: retry, or raise first_token_timeout",
                    )
                continue
            if isinstance(piece, Opened):
                if piece.status >= 400:
                    raise self._status_failure(model, piece, connection)
            elif isinstance(piece, Data):
                buffer += piece.chunk
                if b"\n" not in buffer:
                    continue
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    events = decoder.feed(line)
                    if decoder.first_token_ms is None and decoder.shown:
                        decoder.first_token_ms = (time.monotonic() - started) * 1000
                    if decoder.done:
                        held.extend(events)
                    else:
                        yield from events
            elif isinstance(piece, Finished):
                break
            elif isinstance(piece, Failed):
                if decoder.done:
                    break
                error = piece.error if isinstance(piece.error, Exception) else RuntimeError(repr(piece.error))
                raise self._failure(error, model)
        if not decoder.done and buffer.strip():  # a last line without its newline
            events = decoder.feed(buffer)
            if decoder.done:
                held.extend(events)
            else:
                yield from events
        if not decoder.done:
            raise BackendError(
                "the answer from Ollama stopped before it finished (the connection closed early)",
                hint="retry; check `ollama serve` logs",
            )
        yield from held

    def _status_failure(self, model: str, opened: Opened, connection: StreamingRequest) -> BackendFailure | _Retry:
        from agentshell_ollama.transport import Data

        body = connection.next(SHOW_TIMEOUT)
        raw = body.chunk if isinstance(body, Data) else b""
        failure = http_failure(opened.status, raw, model=model, host=self.settings.host, headers=opened.headers)
        return _Retry(failure) if opened.status in RETRYABLE_STATUS else failure
