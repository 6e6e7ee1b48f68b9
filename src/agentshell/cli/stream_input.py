"""``--input-format stream-json``: a conversation held by a program, one JSON line per user message.

``agent launch --input-format stream-json --output-format stream-json`` starts once, opens
one session, and answers each message on stdin in turn until stdin closes, so start-up and
the session load are paid once (benchmarks/stream_input.py). The input lines are the pydantic
models below, versioned like the output (``schema_version``; docs/scripting.md#stream-json-input).
A line that is not one of them gets an ``error`` event and the conversation goes on.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from agentshell.errors import EXIT_INTERRUPTED, EXIT_OK, UsageError

if TYPE_CHECKING:  # the loop and the backends are imported when a conversation starts, not by `--help`
    from agentshell.api.agent import Agent
    from agentshell.api.assembly import LaunchOptions
    from agentshell.cli.jsonout import StreamJsonWriter

INPUT_SCHEMA_VERSION = 1
MAX_LINE_BYTES = 10_000_000  # a longer line is refused, not read into memory whole


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: Literal[1] = 1  # INPUT_SCHEMA_VERSION; optional on input


class TextBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]
    text: str


class UserMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user"] = "user"
    content: str | list[TextBlock]
    """The prompt: a string, or text blocks (joined by blank lines) as Claude Code writes them."""


class UserInput(_In):
    """A message for the agent to answer, in turn, in the process's one session."""

    type: Literal["user"]
    message: UserMessage
    session_id: str | None = None
    """Accepted and ignored (Claude Code writes it): the process holds one session, named in ``init``."""
    parent_tool_use_id: str | None = None
    """Accepted and ignored, as ``session_id``."""

    def text(self) -> str:
        content = self.message.content
        return content if isinstance(content, str) else "\n\n".join(block.text for block in content)


class InterruptInput(_In):
    """Stop the message being answered now, as Ctrl-C would; its ``result`` says ``interrupted``."""

    type: Literal["interrupt"]


StreamInput = Annotated[UserInput | InterruptInput, Field(discriminator="type")]
stream_input_adapter: TypeAdapter[StreamInput] = TypeAdapter(StreamInput)


def agent_input_schema() -> dict[str, Any]:
    """JSON Schema of one stream-json input line."""
    return stream_input_adapter.json_schema()


class InvalidInput(UsageError):
    """An input line that is not a stream-json input object; ``str()`` says where and why."""


def parse_line(raw: bytes, number: int) -> StreamInput:
    """One input line as its model; raises :class:`InvalidInput` naming the line."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput(f"input line {number} is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"input line {number} is not JSON: {str(exc).splitlines()[0]}") from None
    if isinstance(data, dict) and data.get("schema_version", INPUT_SCHEMA_VERSION) != INPUT_SCHEMA_VERSION:
        version = json.dumps(data["schema_version"])[:20]
        raise InvalidInput(
            f"input line {number}: schema_version {version} is not supported (this agent reads {INPUT_SCHEMA_VERSION})"
        )
    try:
        item = stream_input_adapter.validate_python(data)
    except ValidationError as exc:
        raise InvalidInput(f"input line {number}: {_first_problem(exc)}") from None
    if isinstance(item, UserInput) and not item.text().strip():
        raise InvalidInput(f"input line {number}: the message is empty")
    return item


def _first_problem(exc: ValidationError) -> str:
    """The deepest error, where it is: ``message.content.0.type: Input should be 'text'``."""
    error = max(exc.errors(), key=lambda e: len(e["loc"]))
    loc = error["loc"]
    if loc and loc[0] in ("user", "interrupt"):  # the union's tag, not a field
        loc = loc[1:]
    where = ".".join(str(part) for part in loc if part != "str" and "[" not in str(part))  # union branches
    expected = ' (expected {"type": "user", "message": {"role": "user", "content": "..."}})'
    return f"{where}: {error['msg']}{expected}" if where else f"{error['msg']}{expected}"


# ---------------------------------------------------------------------------------------- the conversation

Inbox = queue.SimpleQueue["str | InvalidInput | None"]


def run_stream_input(opts: LaunchOptions, prompt: str | None, output_format: str) -> int:
    """Answer each message of stdin in one session; returns the exit code (docs/scripting.md#stream-json-input).

    0 when every message was answered; else the code of the first failure (2 for a bad line), or 130
    at once on Ctrl-C. ``prompt`` (``-p``), when given, is the first message.
    """
    from agentshell.api.agent import Agent, not_started
    from agentshell.cli.assemble import stderr_notice
    from agentshell.cli.jsonout import StreamJsonWriter

    if output_format != "stream-json":
        raise UsageError("--input-format stream-json needs --output-format stream-json")
    writer = StreamJsonWriter(sys.stdout)
    started = time.monotonic()
    try:
        agent = Agent.from_options(opts, approve=None, on_notice=stderr_notice)
    except (Exception, KeyboardInterrupt) as exc:
        for event in not_started(exc, opts, int((time.monotonic() - started) * 1000)):
            writer.emit(event)
        raise  # the one line on stderr and the exit code: cli/failures.py
    with agent:
        writer.emit(agent.init_event())
        return _converse(agent, writer, prompt, sys.stdin.buffer)


def _converse(agent: Agent, writer: StreamJsonWriter, prompt: str | None, stdin: IO[bytes]) -> int:
    from agentshell.api.events import ErrorEvent

    inbox: Inbox = queue.SimpleQueue()
    asked = threading.Event()  # an interrupt line stopped the current message (not Ctrl-C)
    if prompt is not None and prompt.strip():
        inbox.put(prompt)
    reader = threading.Thread(target=_read, args=(stdin, inbox, agent, asked), name="agent-stdin", daemon=True)
    reader.start()
    code = EXIT_OK
    while True:
        try:
            item = inbox.get()
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        if item is None:
            return code
        if isinstance(item, InvalidInput):
            writer.emit(ErrorEvent(message=str(item), kind="InvalidInput", exit_code=item.exit_code))
            code = code or item.exit_code
            continue
        asked.clear()
        result = agent.run(item, on_event=writer.write)
        if result.exit_code == EXIT_INTERRUPTED:
            if not asked.is_set():
                return EXIT_INTERRUPTED  # Ctrl-C ends the conversation, as it ends `agent launch -p`
        elif result.exit_code:
            code = code or result.exit_code


def _read(stdin: IO[bytes], inbox: Inbox, agent: Agent, asked: threading.Event) -> None:
    """Read and check lines as they come, so that an interrupt line acts while a message is answered."""
    try:
        number = 0
        while raw := stdin.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (rest := stdin.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                inbox.put(InvalidInput(f"input line {number} is longer than {MAX_LINE_BYTES} bytes"))
                continue
            if not raw.strip():
                continue
            try:
                item = parse_line(raw, number)
            except InvalidInput as exc:
                inbox.put(exc)
                continue
            if isinstance(item, InterruptInput):
                asked.set()
                agent.cancel()
            else:
                inbox.put(item.text())
    except (OSError, ValueError) as exc:
        inbox.put(InvalidInput(f"cannot read stdin: {exc}"))
    finally:
        inbox.put(None)
