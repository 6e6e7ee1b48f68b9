"""``agent doctor --model M``: is this model usable as an agent? A fixed set of tool-call requests, counted.

Each request offers the same five tools and asks for something one of them
does. The answer is counted as a *native* call (the server parsed it), a call
*recovered* from the reply's text (the backend read markup the server left in
the content, see ``ToolCall.recovered``), or *no call* (prose, or a call so
malformed the model would have to retry). A local model that only answers in
prose here will not act as an agent either.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from agentshell.protocol import (
    Backend,
    ChatOptions,
    DoctorCheck,
    Done,
    MalformedToolCall,
    Message,
    ToolCall,
    ToolSpec,
)

SYSTEM = (
    "You are a coding agent working in a project folder. Answer by calling one of the tools; "
    "its result comes back to you in the next message."
)


def _tool(name: str, description: str, **properties: str) -> ToolSpec:
    return ToolSpec(
        name=name,
        description=description,
        parameters={
            "type": "object",
            "properties": {key: {"type": "string", "description": text} for key, text in properties.items()},
            "required": list(properties),
        },
    )


TOOLS = (
    _tool("read_file", "Read a text file of the project.", path="path of the file, relative to the project"),
    _tool("list_dir", "List the files and folders in a folder.", path="path of the folder, relative to the project"),
    _tool("grep", "Search the project's files for a regular expression.", pattern="the regular expression"),
    _tool("bash", "Run a shell command in the project folder.", command="the command line"),
    _tool("get_time", "Return the current time in a timezone.", timezone="IANA timezone name, e.g. Europe/Paris"),
)
REQUESTS = (
    ("Show me what README.md says.", "read_file"),
    ("Which files are in the src folder?", "list_dir"),
    ("Find every TODO comment in the project.", "grep"),
    ("Run the tests with `pytest -q` and tell me if they pass.", "bash"),
    ("What time is it in Tokyo right now?", "get_time"),
)


@dataclass
class ProbeResult:
    native: int = 0
    recovered: int = 0
    none: int = 0
    malformed: int = 0  # among ``none``: the model tried, but what it wrote could not be read
    errors: list[str] = field(default_factory=list)  # requests that failed (among ``none``)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.native + self.recovered + self.none

    def summary(self) -> str:
        parts = [f"{self.native} native", f"{self.recovered} recovered from text", f"{self.none} without a call"]
        extra = [f"{self.malformed} malformed"] if self.malformed else []
        if self.errors:
            extra.append(f"{len(self.errors)} failed: {self.errors[0]}")
        tail = f" ({'; '.join(extra)})" if extra else ""
        return f"{self.total} requests: {', '.join(parts)}{tail}; {self.seconds:.1f} s"


def ask(backend: Backend, model: str, prompt: str) -> str:
    """One request: ``native``, ``recovered``, ``malformed`` or ``none``."""
    messages = [Message(role="system", content=SYSTEM), Message(role="user", content=prompt)]
    outcome = "none"
    stream = backend.chat(model, messages, tools=TOOLS, options=ChatOptions(temperature=0.0, max_tokens=160))
    try:
        for event in stream:
            if isinstance(event, ToolCall):
                outcome = "recovered" if event.recovered else "native"
                if outcome == "native":
                    break  # the best outcome: no need to read the rest
            elif isinstance(event, MalformedToolCall) and outcome == "none":
                outcome = "malformed"
            elif isinstance(event, Done):
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return outcome


def probe(backend: Backend, model: str, timeout: float, requests: Sequence[tuple[str, str]] = REQUESTS) -> ProbeResult:
    """Every request under ``timeout`` seconds each; a failure counts as "no call" and is kept for the report."""
    from agentshell.cli.doctor import bounded, describe_error

    result = ProbeResult()
    started = time.perf_counter()
    for prompt, _ in requests:
        try:
            outcome = bounded(partial(ask, backend, model, prompt), timeout)
        except Exception as exc:
            result.none += 1
            result.errors.append(describe_error(exc)[0])
            continue
        if outcome == "native":
            result.native += 1
        elif outcome == "recovered":
            result.recovered += 1
        else:
            result.none += 1
            result.malformed += outcome == "malformed"
    result.seconds = time.perf_counter() - started
    return result


def probe_check(model: str, timeout: float) -> DoctorCheck:
    """The ``agent doctor`` row for ``--model``: how this model's tool calls come back."""
    from agentshell.cli.doctor import describe_error
    from agentshell.config import load_config

    label = f"tool calls {model}"
    try:
        backend, name = load_config().backend_pool().resolve(model, None)
    except Exception as exc:
        detail, fix = describe_error(exc)
        return DoctorCheck(label, "fail", detail, fix)
    result = probe(backend, name, timeout)
    calls = result.native + result.recovered
    if result.errors and len(result.errors) == result.total:
        return DoctorCheck(
            label, "fail", result.summary(), "every request failed: see the rows above, or raise --timeout"
        )
    if calls == result.total:
        return DoctorCheck(label, "ok", result.summary())
    fix = "small models often answer in prose; try a larger or tool-trained model before relying on this one"
    return DoctorCheck(label, "warn" if calls else "fail", result.summary(), fix)
