"""What an ACP editor is shown: the API's events as session updates, prompts as text, a saved conversation replayed.

The mapping (docs/acp.md#what-the-editor-sees): text and thinking become ``agent_message_chunk`` and
``agent_thought_chunk``; a tool call a ``tool_call`` (pending, with a title, a kind and the file it
touches) and its result a ``tool_call_update`` (completed or failed) whose content is the output as text,
or for an edit the file's old and new text as an ACP diff (cli/acp_diff.py). Tool output and diffs are
redacted like stream-json, since ACP traffic is often logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from acp import schema
from acp.helpers import (
    text_block,
    tool_content,
    tool_diff_content,
    update_agent_message_text,
    update_agent_thought_text,
    update_user_message_text,
)

from agentshell.api import TextEvent, ThinkingEvent, ToolCallEvent, ToolResultEvent
from agentshell.cli.acp_diff import edit_texts
from agentshell.cli.calltitle import call_title
from agentshell.protocol import ToolCallRequest
from agentshell.redact import redact

if TYPE_CHECKING:
    from agentshell.api import ApprovalRequest, Message, StreamEvent

Update = (
    schema.AgentMessageChunk
    | schema.AgentThoughtChunk
    | schema.UserMessageChunk
    | schema.ToolCallStart
    | schema.ToolCallProgress
    | schema.CurrentModeUpdate
    | schema.ConfigOptionUpdate
)
ContentBlock = (
    schema.TextContentBlock
    | schema.ImageContentBlock
    | schema.AudioContentBlock
    | schema.ResourceContentBlock
    | schema.EmbeddedResourceContentBlock
)
ToolContent = schema.ContentToolCallContent | schema.FileEditToolCallContent | schema.TerminalToolCallContent

SHOWN_OUTPUT_CHARS = 20_000  # the model reads the whole output; an editor panel needs the gist
MAX_DIFF_FILE_BYTES = 2_000_000  # a larger file is shown by its hunks alone
KINDS: dict[str, schema.ToolKind] = {
    "read_file": "read",
    "write_file": "edit",
    "edit_file": "edit",
    "list_dir": "search",
    "glob": "search",
    "grep": "search",
    "search_tools": "search",
    "bash": "execute",
}
PATH_TOOLS = ("read_file", "write_file", "edit_file", "list_dir")


def _fenced(text: str) -> str:
    """``text`` as a Markdown code block whose fence no line of it can close."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}\n{text}\n{fence}"


class UpdateRelay:
    """One session's stream events as ACP updates; remembers each call until its result arrives."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self._calls: dict[str, ToolCallEvent] = {}

    def updates(self, event: StreamEvent) -> list[Update]:
        if isinstance(event, TextEvent):
            return [update_agent_message_text(event.text)]
        if isinstance(event, ThinkingEvent):
            return [update_agent_thought_text(event.text)]
        if isinstance(event, ToolCallEvent):
            self._calls[event.id] = event
            return [self.call_start(event.id, event.name, event.arguments)]
        if isinstance(event, ToolResultEvent):
            call = self._calls.pop(event.id, None)
            return [self.call_result(event, call.arguments if call is not None else {})]
        return []  # checkpoint, hook, error and result events: the prompt's response says how it ended

    def call_start(self, call_id: str, name: str, arguments: dict[str, Any]) -> schema.ToolCallStart:
        return schema.ToolCallStart(
            session_update="tool_call",
            tool_call_id=call_id,
            title=call_title(ToolCallRequest(id=call_id, name=name, arguments=arguments)),
            kind=KINDS.get(name, "other"),
            status="pending",
            locations=self._locations(name, arguments),
            raw_input=arguments,
        )

    def call_result(self, event: ToolResultEvent, arguments: dict[str, Any]) -> schema.ToolCallProgress:
        path = self._path(event.name, arguments)
        content: list[ToolContent]
        if event.diff and path is not None and not event.is_error:
            old, new = edit_texts(redact(event.diff), _read(path), applied=True)
            content = [tool_diff_content(str(path), new, old)]
        else:
            content = [tool_content(text_block(_fenced(_clip(redact(event.output)))))]
        return schema.ToolCallProgress(
            session_update="tool_call_update",
            tool_call_id=event.id,
            status="failed" if event.is_error else "completed",
            content=content,
        )

    def permission_call(self, request: ApprovalRequest, call: ToolCallEvent | None) -> schema.ToolCallUpdate:
        """The tool call a permission question is about, with what it would do: the diff or the command."""
        arguments = call.arguments if call is not None else {}
        path = self._path(request.tool, arguments)
        content: list[ToolContent] = []
        if request.detail and request.kind == "edit" and path is not None:
            old, new = edit_texts(redact(request.detail), _read(path) or "", applied=False)
            content = [tool_diff_content(str(path), new, old)]
        elif request.detail:
            content = [tool_content(text_block(_fenced(_clip(redact(request.detail)))))]
        if request.reason:
            content.append(tool_content(text_block(f"Asking because {request.reason}.")))
        return schema.ToolCallUpdate(
            tool_call_id=call.id if call is not None else f"approval-{id(request)}",
            title=call_title(ToolCallRequest(id="", name=call.name, arguments=arguments)) if call else request.summary,
            kind=KINDS.get(request.tool, "other"),
            status="pending",
            content=content,
            locations=self._locations(request.tool, arguments),
        )

    def _path(self, tool: str, arguments: dict[str, Any]) -> Path | None:
        raw = arguments.get("path")
        if tool not in PATH_TOOLS or not isinstance(raw, str) or not raw or "\0" in raw:
            return None
        return (self.workspace / Path(raw).expanduser()).resolve()

    def _locations(self, tool: str, arguments: dict[str, Any]) -> list[schema.ToolCallLocation] | None:
        path = self._path(tool, arguments)
        return [schema.ToolCallLocation(path=str(path))] if path is not None else None


def _clip(text: str) -> str:
    if len(text) <= SHOWN_OUTPUT_CHARS:
        return text
    return text[:SHOWN_OUTPUT_CHARS] + f"\n[... {len(text) - SHOWN_OUTPUT_CHARS} more characters the model read]"


def _read(path: Path) -> str | None:
    """The file's text as the file tools show it (undecodable bytes as U+FFFD); None when it cannot be diffed."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_DIFF_FILE_BYTES:
            return None
        return path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None


# ---------------------------------------------------------------------------------------- prompts and history


def prompt_text(blocks: list[ContentBlock], workspace: Path) -> str:
    """The user's prompt as the model reads it: text as written, files the editor attached inline."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, schema.TextContentBlock):
            parts.append(block.text)
        elif isinstance(block, schema.ResourceContentBlock):
            parts.append(f"@{_shown_uri(block.uri, workspace)}")
        elif isinstance(block, schema.EmbeddedResourceContentBlock):
            resource = block.resource
            where = _shown_uri(resource.uri, workspace)
            if isinstance(resource, schema.TextResourceContents):
                parts.append(f'\n<file path="{where}">\n{resource.text}\n</file>\n')
            else:
                parts.append(f"[{where}: binary content left out; this agent reads text]")
        else:
            parts.append(f"[{block.type} left out: this agent reads text]")
    return "".join(parts)


def _shown_uri(uri: str, workspace: Path) -> str:
    """A ``file://`` URI as a path relative to the workspace when it is inside it."""
    if not uri.startswith("file://"):
        return uri
    from urllib.parse import unquote, urlparse

    path = Path(unquote(urlparse(uri).path))
    try:
        return path.relative_to(workspace).as_posix()
    except ValueError:
        return str(path)


def history_updates(messages: tuple[Message, ...], relay: UpdateRelay) -> list[Update]:
    """A saved conversation as the updates that would have shown it (``session/load``)."""
    updates: list[Update] = []
    names: dict[str, str] = {}
    for message in messages:
        if message.role == "user" and message.content:
            updates.append(update_user_message_text(message.content))
        elif message.role == "assistant":
            if message.thinking:
                updates.append(update_agent_thought_text(message.thinking))
            if message.content:
                updates.append(update_agent_message_text(message.content))
            for call in message.tool_calls:
                names[call.id] = call.name
                updates.append(relay.call_start(call.id, call.name, dict(call.arguments)))
        elif message.role == "tool" and message.tool_call_id:
            updates.append(
                schema.ToolCallProgress(
                    session_update="tool_call_update",
                    tool_call_id=message.tool_call_id,
                    status="completed",
                    content=[tool_content(text_block(_fenced(_clip(message.content))))],
                )
            )
    return updates
