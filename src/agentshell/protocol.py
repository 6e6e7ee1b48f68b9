"""The contract between the agent layer and the model layer.

Everything that crosses from a backend to the agent (and back) is defined here,
so that a transcript written while talking to one backend can be replayed into
any other. Backends are plain classes found through the ``agentshell.backends``
entry point; they satisfy :class:`Backend` structurally and import nothing of
the agent but this module (and ``agentshell_chatformat``). Whatever else they
need from the agent crosses here too:

- what a backend declares about itself (claim priority, environment variables,
  flags, install and setup hints): a :class:`BackendManifest` named ``MANIFEST``
  in the module its entry point names, read without importing the engine;
- what the agent lends it: a :class:`Host` (version, data folder) among the
  constructor options, and, for the commands a backend adds to ``agent``, a
  :class:`CommandHost` (its options, one-line errors, progress display);
- the function-tool JSON every chat API and chat template expects: :func:`function_tool_json`.

Error tree (each becomes one line on the terminal, with the fix)::

    BackendFailure
     ├── BackendUnavailable   cannot connect / engine not installed: say how to start or install it
     ├── ModelNotFound        say how to get the model
     ├── AuthRequired         say how to sign in
     ├── PermissionDenied     account lacks access (e.g. a subscription)
     ├── RateLimited          carries retry_after when the server said
     ├── ContextOverflow      the request does not fit the model's window
     ├── ToolsUnsupported     the model cannot call tools
     └── BackendError         anything else the backend reports
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1

Role = Literal["system", "user", "assistant", "tool"]
ThinkLevel = Literal["off", "on", "low", "medium", "high"]
StopReason = Literal["stop", "length", "tool_calls", "cancelled", "error"]
Capability = Literal["completion", "tools", "thinking", "vision", "embedding"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- messages


class ToolCallRequest(_Frozen):
    """A tool call as it is stored in an assistant message."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Message(_Frozen):
    """One turn of the conversation, backend-neutral.

    ``name`` is the tool's name on ``tool`` messages (Ollama's ``tool_name``);
    ``tool_call_id`` ties a tool result to the call that asked for it.
    ``interrupted`` marks a partial assistant answer cut by an error or Ctrl-C:
    it stays in the transcript so nothing the user saw is lost.
    """

    role: Role
    content: str = ""
    thinking: str | None = None
    tool_calls: tuple[ToolCallRequest, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    interrupted: bool = False


class ToolSpec(_Frozen):
    """What a model is told about a tool: ``parameters`` is a JSON schema object."""

    name: str
    description: str
    parameters: dict[str, Any]


def function_tool_json(spec: ToolSpec) -> dict[str, Any]:
    """``{"type": "function", "function": {...}}``: how OpenAI's API, Ollama's and Hugging Face chat templates
    all expect a tool, with the schema passed on unchanged (nested schemas included)."""
    return {
        "type": "function",
        "function": {"name": spec.name, "description": spec.description, "parameters": spec.parameters},
    }


# --------------------------------------------------------------------------- models


class ModelInfo(_Frozen):
    name: str
    backend: str
    context_length: int | None = None
    capabilities: frozenset[str] = frozenset({"completion"})
    details: dict[str, str] = Field(default_factory=dict)  # size, quantization, family... for display
    remote: bool = False  # True when the conversation leaves this machine

    @property
    def supports_tools(self) -> bool:
        return "tools" in self.capabilities


class ChatOptions(_Frozen):
    """Generation settings. ``None`` means "the backend's default"."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    max_tokens: int | None = None
    context_length: int | None = None  # the window the agent wants (num_ctx / n_ctx)
    think: ThinkLevel | None = None
    keep_alive: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------- events


class Usage(_Frozen):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Timings(_Frozen):
    """Milliseconds as measured by the backend (or the engine, when it reports them)."""

    load_ms: float | None = None
    prompt_ms: float | None = None
    generation_ms: float | None = None
    first_token_ms: float | None = None


class TextDelta(_Frozen):
    type: Literal["text"] = "text"
    text: str


class ThinkingDelta(_Frozen):
    type: Literal["thinking"] = "thinking"
    text: str


class ToolCall(_Frozen):
    """A whole tool call. Backends assemble partial JSON themselves.

    ``recovered``: the server did not parse the call; the backend read it from the
    reply's text (agentshell_chatformat's CallRecovery). It is run like any other
    call; ``agent doctor --model`` counts these to say how usable a model is.
    """

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    recovered: bool = False


class MalformedToolCall(_Frozen):
    """The model tried to call a tool but what it wrote could not be read.

    The agent answers it with ``error`` as a tool result so the model can retry,
    instead of the turn failing.
    """

    type: Literal["malformed_tool_call"] = "malformed_tool_call"
    id: str
    raw: str
    error: str
    name: str | None = None


class Notice(_Frozen):
    """Something the user should see on stderr, not part of the answer.

    ``loading`` starts a spinner that stops at the next content event;
    ``warning`` and ``info`` are printed as one line.
    """

    type: Literal["notice"] = "notice"
    level: Literal["info", "warning", "loading"] = "info"
    text: str


class Done(_Frozen):
    type: Literal["done"] = "done"
    stop_reason: StopReason = "stop"
    usage: Usage = Field(default_factory=Usage)
    timings: Timings = Field(default_factory=Timings)


Event = Annotated[
    TextDelta | ThinkingDelta | ToolCall | MalformedToolCall | Notice | Done,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- errors


class BackendFailure(Exception):
    """Base of every error a backend raises on purpose.

    ``str(err)`` is the one line shown to the user: what went wrong and what to do.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BackendUnavailable(BackendFailure):
    pass


class ModelNotFound(BackendFailure):
    pass


class AuthRequired(BackendFailure):
    def __init__(self, message: str, *, hint: str | None = None, signin_url: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.signin_url = signin_url


class PermissionDenied(BackendFailure):
    pass


class RateLimited(BackendFailure):
    def __init__(self, message: str, *, hint: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class ContextOverflow(BackendFailure):
    pass


class ToolsUnsupported(BackendFailure):
    pass


class BackendError(BackendFailure):
    pass


# --------------------------------------------------------------------------- the protocol


@runtime_checkable
class Backend(Protocol):
    """A model layer. Construction must be cheap and do no I/O or heavy imports.

    ``chat`` yields events as they are produced; it ends with exactly one
    :class:`Done`, or raises a :class:`BackendFailure`. When the consumer stops
    iterating (Ctrl-C), the generator is closed and must release its resources.
    """

    name: str

    def claims(self, model: str) -> bool: ...

    def list_models(self) -> list[ModelInfo]: ...

    def describe(self, model: str) -> ModelInfo: ...

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions,
    ) -> Iterator[Event]: ...


@runtime_checkable
class TokenCounter(Protocol):
    """Optional: backends that can tokenize exactly (gguf, builtin) implement this."""

    def count_tokens(self, model: str, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> int: ...


@runtime_checkable
class HealthCheck(Protocol):
    """Optional: a cheap "can this backend run right now?" for `agent backends` / `agent doctor`.

    Returns ``(usable, one-line detail)``; may do quick I/O (a 1 s connect).
    """

    def health(self) -> tuple[bool, str]: ...


class BackendFactory(Protocol):
    """What an entry point names: usually the backend class itself.

    ``options`` carries the backend's section of the configuration, merged with
    the environment variables and flags its :class:`BackendManifest` declares,
    ``debug``, and the agent's :class:`Host` under :data:`HOST_OPTION`. Unknown
    keys must be ignored.
    """

    def __call__(self, options: Mapping[str, Any]) -> Backend: ...


# --------------------------------------------------------------------------- what a backend declares

ClaimTest = Callable[[str, Mapping[str, Any]], bool]
"""``(model string, the backend's options) -> bool``: :meth:`Backend.claims` without building the backend."""

DEFAULT_CLAIM_PRIORITY = 500
"""Where a backend that declares no priority asks: after the specific ones, before a catch-all."""

CATCH_ALL_PRIORITY = 1000
"""For a backend that claims nearly every name (Ollama's model names): asked last."""

MANIFEST_ATTRIBUTE = "MANIFEST"
"""The name of the :class:`BackendManifest` in the module an ``agentshell.backends`` entry point names."""


@dataclass(frozen=True)
class BackendManifest:
    """What a backend tells the agent about itself, so the agent layer never names a backend.

    It is the module-level ``MANIFEST`` of the module the entry point names (for
    ``ollama = "agentshell_ollama:OllamaBackend"``, the package ``agentshell_ollama``);
    that module must stay cheap to import, so resolving a model string and
    reading the configuration never load an engine. A backend without a
    manifest gets these defaults. The claim order is documented in
    :mod:`agentshell.registry`.
    """

    claim_priority: int = DEFAULT_CLAIM_PRIORITY
    """Lower asks first when a model string names no backend; ties go alphabetically."""
    claims: ClaimTest | None = None
    """The claim test without an instance; None means "build the backend and ask its ``claims()``"."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Environment variable -> option key (``OLLAMA_HOST`` -> ``host``); shown by ``agent config show``.
    Variables whose key is secret (``api_key``...) are also kept from the commands tools run."""
    flags: Mapping[str, str] = field(default_factory=dict)
    """``agent launch`` backend flag (``host`` for ``--host``) -> option key."""
    sections: tuple[str, ...] = ()
    """Top-level tables of the configuration passed whole, under their own name (``endpoints``)."""
    default_model: str = ""
    """A model that needs nothing else installed, offered as a fresh install's default; the first backend in
    claim order that offers one provides it."""
    install_hint: str = ""
    """How to install the backend with its dependencies, when importing it fails."""
    setup_hint: str = ""
    """What to do when it is installed but cannot run (no server, no key): ``agent doctor``'s fix."""


# --------------------------------------------------------------------------- what the agent lends a backend

HOST_OPTION = "agent"
"""The options key that holds the :class:`Host` (set after the user's keys, so it cannot be overridden)."""


@dataclass(frozen=True)
class Host:
    """What the agent lends every backend it builds, among the constructor options (:func:`host_of`).

    A backend built without one (a test, a program embedding it) does without
    what needs it, such as a cache on disk.
    """

    version: str  # agentshell's version, for a User-Agent header
    data_dir: Path  # agentshell's data folder; a backend keeps its files under it


def host_of(options: Mapping[str, Any]) -> Host | None:
    host = options.get(HOST_OPTION)
    return host if isinstance(host, Host) else None


class ProgressDisplay(Protocol):
    """A live display of long work that the agent draws on stderr (see :meth:`CommandHost.progress`)."""

    def status(self, text: str) -> None:
        """The caption: what is happening now."""

    def transfer(self, key: str, label: str, done: int, total: int) -> None:
        """One bar per ``key`` (a download's layer...), in bytes; ``label`` names it."""


@runtime_checkable
class CommandHost(Protocol):
    """What a command a backend adds to ``agent`` (entry point group ``agentshell.commands``) gets from the agent.

    ``agent`` passes it as the click context object: the command takes a
    ``typer.Context`` and calls :func:`command_host` on ``ctx.obj``.
    """

    def options(self, backend: str, flags: Mapping[str, Any] | None = None, *, debug: bool = False) -> dict[str, Any]:
        """The options ``agent launch`` would build ``backend`` with; ``flags`` (option key -> value, None
        for "not given") override the config file and the environment."""
        ...

    def user_errors(self, debug: bool = False) -> AbstractContextManager[None]:
        """Inside it, a :class:`BackendFailure` (or any user error) ends the command as one line and exit code."""
        ...

    def progress(self) -> AbstractContextManager[ProgressDisplay]:
        """A progress display for the length of the ``with`` block; every bar ends full."""
        ...


def command_host(obj: object) -> CommandHost:
    """``ctx.obj`` as a :class:`CommandHost`; anything else means the command was not started by ``agent``."""
    if isinstance(obj, CommandHost):
        return obj
    raise TypeError(f"expected the agent's CommandHost as the context object, got {type(obj).__name__}")


# --------------------------------------------------------------------------- what a backend adds to agent doctor

DoctorStatus = Literal["ok", "warn", "fail", "skip"]


@dataclass(frozen=True)
class DoctorCheck:
    """One row of ``agent doctor``: what was checked, how it went, and what to do about it."""

    name: str
    status: DoctorStatus
    detail: str
    fix: str = ""


@runtime_checkable
class ConfigChecks(Protocol):
    """Optional: checks of what the user configured for this backend (named servers, keys).

    ``agent doctor`` runs them for every backend the configuration mentions, each
    within ``timeout`` seconds per probe, whichever backends ``--backend`` selects.
    """

    def config_checks(self, timeout: float) -> list[DoctorCheck]: ...
