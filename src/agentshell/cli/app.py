"""The ``agent`` command: a lazy group so that start-up only imports what the invoked command needs.

Each command lives in its own module exposing ``app: typer.Typer``. Core commands
are listed in :data:`CORE_COMMANDS`; backend distributions add their own through
the ``agentshell.commands`` entry point group, so the agent layer never imports a
backend module by name. Those commands get what they need from the agent (their
options, one-line errors, a progress display) as the click context object, an
:class:`agentshell.cli.host.AgentCommandHost` (see ``CommandHost`` in agentshell/protocol.py).
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

from agentshell.errors import EXIT_INTERRUPTED

COMMAND_ENTRY_POINTS = "agentshell.commands"

# name -> "module:attribute" of a typer.Typer
CORE_COMMANDS: dict[str, str] = {
    "launch": "agentshell.cli.launch:app",
    "acp": "agentshell.cli.acp_cmd:app",
    "mcp": "agentshell.cli.mcp_cmd:app",
    "backends": "agentshell.cli.models:backends_app",
    "models": "agentshell.cli.models:models_app",
    "sessions": "agentshell.cli.sessions:app",
    "config": "agentshell.cli.config_cmd:app",
    "init": "agentshell.cli.init_cmd:app",
    "doctor": "agentshell.cli.doctor:app",
    "completion": "agentshell.cli.completion:app",
    "rewind": "agentshell.cli.rewind:app",
}

HELP = (
    "agentshell: a terminal coding agent. The same agent drives Ollama (local and cloud), "
    "local GGUF files through llama.cpp, OpenAI-compatible servers and a built-in numpy transformer."
)


def _command_targets() -> dict[str, str]:
    targets = dict(CORE_COMMANDS)
    from importlib.metadata import entry_points  # not at import: `agent --version` should not pay for it

    for ep in entry_points(group=COMMAND_ENTRY_POINTS):
        targets.setdefault(ep.name, ep.value)
    return targets


def _target(name: str) -> str | None:
    """A core command is found without the entry-point scan (it reads every installed distribution's metadata)."""
    return CORE_COMMANDS.get(name) or _command_targets().get(name)


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(import_module(module_name), attr)


def _loadable(target: str) -> bool:
    from importlib.util import find_spec

    try:
        return find_spec(target.partition(":")[0]) is not None
    except ModuleNotFoundError:
        return False


def build_cli() -> Any:
    """The Typer group behind ``agent``, loading each command module only when it is invoked or listed."""
    import typer
    import typer.main
    from typer.core import TyperGroup

    from agentshell import __version__
    from agentshell.cli.host import AgentCommandHost

    class LazyGroup(TyperGroup):
        def list_commands(self, ctx: Any) -> list[str]:
            return sorted(name for name, target in _command_targets().items() if _loadable(target))

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            target = _target(cmd_name)
            if target is None or not _loadable(target):
                return None
            command = typer.main.get_command(_load(target))
            command.name = cmd_name
            return command

    root = typer.Typer(
        cls=LazyGroup,
        help=HELP,
        # ``obj``: what backend-provided commands get from the agent (a caller may pass its own to main()).
        context_settings={"help_option_names": ["-h", "--help"], "obj": AgentCommandHost()},
        no_args_is_help=True,
        add_completion=False,
    )

    def show_version(value: bool) -> None:
        if value:
            typer.echo(f"agent {__version__}")
            raise typer.Exit()

    @root.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", "-V", help="Show the version and exit.", callback=show_version, is_eager=True
        ),
    ) -> None:
        pass

    return typer.main.get_command(root)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        # Fast path: no typer, no click, no rich.
        from agentshell import __version__

        sys.stdout.write(f"agent {__version__}\n")
        sys.exit(0)
    if "_AGENT_COMPLETE" in os.environ:
        # A shell asking for completions: answer with Typer's classes (they include PowerShell).
        from agentshell.cli.completion import register_shells

        register_shells()
    cli = build_cli()
    from click.exceptions import ClickException, NoArgsIsHelpError
    from typer import Abort

    try:
        code = cli.main(args=args, prog_name="agent", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # the help is on the screen already
        sys.exit(exc.exit_code)
    except ClickException as exc:
        sys.exit(_usage_error(exc))
    except Abort:
        sys.stderr.write("agent: interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: Any) -> int:
    """A bad flag or value is one line, like every other error (docs/scripting.md), never a box to copy from."""
    from agentshell.cli.safe_text import one_line

    ctx = getattr(exc, "ctx", None)
    where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    message = one_line(exc.format_message())
    if getattr(exc, "option_name", None) in ("-p", "--prompt") and "requires an argument" in message:
        # `echo x | agent launch -p` is how other agents read a piped prompt; here stdin alone is enough.
        message = message.rstrip(".")
        where = ": give the prompt after -p, or pipe it without -p (`echo PROMPT | agent launch`)"
    sys.stderr.write(f"agent: error: {message[:1].lower()}{message[1:]}{where}\n")
    return int(exc.exit_code)
