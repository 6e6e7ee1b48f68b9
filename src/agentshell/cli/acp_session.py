"""What an ACP session offers the editor: its modes, its config options, and its failures as JSON-RPC errors.

Modes are agentshell's permission modes (docs/tools-and-permissions.md#permission-modes); the
config options are the same mode and the model, chosen among every model every installed backend
lists (docs/acp.md#modes-and-models). A failure is one line, the one the command line would print.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acp import RequestError, schema

from agentshell.errors import EXIT_USAGE

if TYPE_CHECKING:
    from agentshell.api import Agent

MODES = {
    "ask": ("Ask", "Reads run; edits and commands ask first."),
    "accept-edits": ("Accept edits", "Reads and edits in the workspace run; commands ask first."),
    "read-only": ("Read only", "Only reading tools run; nothing else is even asked."),
    "yolo": ("Yolo", "Everything runs that no --deny rule forbids; bash in a sandbox where one can run."),
}


def mode_state(agent: Agent) -> schema.SessionModeState:
    return schema.SessionModeState(
        current_mode_id=agent.permission_mode,
        available_modes=[
            schema.SessionMode(id=mode, name=name, description=text) for mode, (name, text) in MODES.items()
        ],
    )


def current_model(agent: Agent) -> str:
    """The model as a ``--model`` string that resolves to it again."""
    return f"{agent.backend}:{agent.model}"


def config_options(agent: Agent, models: list[str]) -> list[schema.SessionConfigOptionSelect]:
    current = current_model(agent)
    choices = [current, *(m for m in models if m != current)]
    return [
        schema.SessionConfigOptionSelect(
            type="select",
            id="model",
            name="Model",
            category="model",
            description="Any backend's model; the conversation carries over.",
            current_value=current,
            options=[schema.SessionConfigSelectOption(value=m, name=m) for m in choices],
        ),
        schema.SessionConfigOptionSelect(
            type="select",
            id="mode",
            name="Permissions",
            category="mode",
            current_value=agent.permission_mode,
            options=[
                schema.SessionConfigSelectOption(value=mode, name=name, description=text)
                for mode, (name, text) in MODES.items()
            ],
        ),
    ]


def request_error(exc: BaseException) -> RequestError:
    """A failure as the JSON-RPC error the editor shows: the command line's one line as its message."""
    from agentshell.api.failures import describe

    if isinstance(exc, RequestError):
        return exc
    code, line = describe(exc)
    return RequestError(-32602 if code == EXIT_USAGE else -32603, line, {"kind": type(exc).__name__})


def invalid(message: str, **where: str) -> RequestError:
    """Invalid params, with the sentence for the user as the message (editors show the message)."""
    return RequestError(-32602, message, where or None)
