"""A backend that replays scripted responses: the model layer for tests, benchmarks and dry runs.

A script is a queue of responses; each ``chat()`` call takes the next one and
yields its events. It goes through the same registry as every real backend,
so a test exercises exactly the code path a user's model would.

Two ways to load one:

* From a JSON file, named by the model string: ``agent launch --model scripted:turns.json``.
  The file is either a list of responses or an object ``{"responses": [...],
  "context_length": 8192}``; a response is a list of events.
* In-process: ``registry.register("scripted", ScriptedBackend.factory(responses))``.

Events are the protocol's events written as JSON (``{"type": "text", "text": "hi"}``,
``{"type": "tool_call", "id": "1", "name": "bash", "arguments": {...}}``...), plus two
directions that only a script needs:

* ``{"type": "sleep", "seconds": 0.5}`` pauses, as a slow model would;
* ``{"type": "raise", "error": "BackendUnavailable", "message": "..."}`` raises that
  protocol error, to test how failures reach the user.

A response without a ``done`` event gets one at its end (``tool_calls`` when it
called a tool, else ``stop``). Every request is kept in :attr:`ScriptedBackend.requests`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from agentshell import protocol
from agentshell.protocol import (
    BackendError,
    BackendFailure,
    ChatOptions,
    Done,
    Event,
    Message,
    ModelInfo,
    ModelNotFound,
    ToolCall,
    ToolSpec,
)

DEFAULT_CONTEXT_LENGTH = 8192

_ERRORS: dict[str, type[BackendFailure]] = {
    cls.__name__: cls
    for cls in (
        protocol.BackendUnavailable,
        protocol.ModelNotFound,
        protocol.AuthRequired,
        protocol.PermissionDenied,
        protocol.RateLimited,
        protocol.ContextOverflow,
        protocol.ToolsUnsupported,
        protocol.BackendError,
    )
}


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Raise:
    error: BackendFailure


Step = Event | Sleep | Raise


@dataclass(frozen=True)
class ScriptedRequest:
    model: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...]
    options: ChatOptions


_event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_step(raw: Mapping[str, Any], where: str) -> Step:
    """One scripted step from its JSON form; a bad step names where it is."""
    kind = raw.get("type")
    try:
        if kind == "sleep":
            return Sleep(float(raw.get("seconds", 0)))
        if kind == "raise":
            cls = _ERRORS.get(str(raw.get("error", "BackendError")))
            if cls is None:
                raise ValueError(f"unknown error {raw.get('error')!r}; one of {', '.join(sorted(_ERRORS))}")
            return Raise(cls(str(raw.get("message", "scripted failure")), hint=raw.get("hint")))
        return _event_adapter.validate_python(raw)
    except (ValidationError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackendError(f"bad scripted event at {where}: {first}") from exc


def parse_script(data: Any, source: str = "script") -> tuple[list[list[Step]], int | None]:
    """Responses and optional context length from a decoded JSON script."""
    context_length: int | None = None
    if isinstance(data, dict):
        context_length = data.get("context_length")
        data = data.get("responses")
    if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        raise BackendError(
            f"{source} is not a scripted conversation",
            hint='expected a list of responses, each a list of events like {"type": "text", "text": "hi"}',
        )
    responses = [
        [parse_step(step, f"{source} response {i + 1} event {j + 1}") for j, step in enumerate(response)]
        for i, response in enumerate(data)
    ]
    return responses, context_length


def load_script(path: Path) -> tuple[list[list[Step]], int | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelNotFound(f"no script file {str(path)!r}", hint="give scripted:PATH to a JSON file") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackendError(f"cannot read script {str(path)!r}: {exc}") from exc
    except RecursionError as exc:
        raise BackendError(f"cannot read script {str(path)!r}: it nests too deep") from exc
    return parse_script(data, str(path))


class ScriptedBackend:
    """Replays a queue of responses. Options: ``responses`` (in-process script), ``context_length``."""

    name = "scripted"

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        options = options or {}
        self._inline: list[list[Step]] | None = None  # an in-process script answers every model name
        self._files: dict[str, list[list[Step]]] = {}  # model string (a path) -> what is left of that script
        self._lengths: dict[str | None, int | None] = {}  # model string -> context length the script declares
        self._context_length: int | None = options.get("context_length")
        self.requests: list[ScriptedRequest] = []
        if options.get("responses") is not None:
            self._inline, self._lengths[None] = parse_script(options["responses"])

    @classmethod
    def factory(
        cls, responses: Sequence[Sequence[Mapping[str, Any] | Event]], **options: Any
    ) -> Callable[[Mapping[str, Any]], ScriptedBackend]:
        """A factory for :func:`agentshell.registry.register` that always hands out the same instance."""
        raw = [[e.model_dump() if not isinstance(e, Mapping) else dict(e) for e in r] for r in responses]
        instance = cls({**options, "responses": raw})
        return lambda _options: instance

    # ------------------------------------------------------------------ protocol

    def claims(self, model: str) -> bool:
        # Only reachable as ``scripted:PATH`` or ``--backend scripted``: never guess.
        return False

    def list_models(self) -> list[ModelInfo]:
        return [self.describe(model) for model in self._files]

    def describe(self, model: str) -> ModelInfo:
        left = len(self._queue_for(model))  # loads the script, so a missing file fails here, before any request
        key = None if self._inline is not None else model
        return ModelInfo(
            name=model,
            backend=self.name,
            context_length=self._context_length or self._lengths.get(key) or DEFAULT_CONTEXT_LENGTH,
            capabilities=frozenset({"completion", "tools", "thinking"}),
            details={"responses left": str(left)},
        )

    def chat(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions,
    ) -> Iterator[Event]:
        queue = self._queue_for(model)
        self.requests.append(ScriptedRequest(model, tuple(messages), tuple(tools), options))
        if not queue:
            raise BackendError(
                "the scripted backend has no responses left",
                hint="add more responses to the script",
            )
        return self._play(queue.pop(0))

    # ------------------------------------------------------------------ internals

    def _queue_for(self, model: str) -> list[list[Step]]:
        if self._inline is not None:
            return self._inline
        if model not in self._files:
            if not model:
                raise ModelNotFound("the scripted backend needs a script", hint="use --model scripted:PATH.json")
            self._files[model], self._lengths[model] = load_script(Path(model).expanduser())
        return self._files[model]

    @staticmethod
    def _play(steps: list[Step]) -> Iterator[Event]:
        called_tool = False
        for step in steps:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
            elif isinstance(step, Raise):
                raise step.error
            else:
                called_tool = called_tool or isinstance(step, ToolCall)
                yield step
                if isinstance(step, Done):
                    return
        yield Done(stop_reason="tool_calls" if called_tool else "stop")
