"""The contract between the agent layer and the model layer.

Everything that crosses from a backend to the agent (and back) is defined here,
so that a transcript written while talking to one backend can be replayed into
any other. Backends are plain classes found through the ``agentshell.backends``
entry point; they satisfy :class:`Backend` structurally and never import the
agent layer beyond this module.

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

from collections.abc import Iterator, Mapping, Sequence
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
    """A whole tool call. Backends assemble partial JSON themselves."""

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


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

    ``options`` carries the backend's section of the configuration merged with
    the CLI flags that concern it (``host``, ``base_url``, ``gpu_layers``,
    ``debug``...). Unknown keys must be ignored.
    """

    def __call__(self, options: Mapping[str, Any]) -> Backend: ...
