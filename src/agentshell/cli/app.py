"""The ``agent`` command: a lazy group so that start-up only imports what the invoked command needs.

Each command lives in its own module exposing ``app: typer.Typer``. Core commands
are listed in :data:`CORE_COMMANDS`; backend distributions add their own (``pull``,
``explain``, ``train``) through the ``agentshell.commands`` entry point group,
so the agent layer never imports a backend module by name.
"""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

COMMAND_ENTRY_POINTS = "agentshell.commands"

# name -> "module:attribute" of a typer.Typer
CORE_COMMANDS: dict[str, str] = {
    "launch": "agentshell.cli.launch:app",
    "backends": "agentshell.cli.models:backends_app",
    "models": "agentshell.cli.models:models_app",
    "sessions": "agentshell.cli.sessions:app",
    "config": "agentshell.cli.config_cmd:app",
    "init": "agentshell.cli.init_cmd:app",
    "doctor": "agentshell.cli.doctor:app",
    "completion": "agentshell.cli.completion:app",
}

HELP = (
    "agentshell: a terminal coding agent. The same agent drives Ollama (local and cloud), "
    "local GGUF files through llama.cpp, OpenAI-compatible servers and a built-in numpy transformer."
)


def _command_targets() -> dict[str, str]:
    targets = dict(CORE_COMMANDS)
    for ep in entry_points(group=COMMAND_ENTRY_POINTS):
        targets.setdefault(ep.name, ep.value)
    return targets


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    return getattr(import_module(module_name), attr)


def build_cli() -> Any:
    """The click group behind ``agent`` (typed ``Any``: click's types stay out of start-up)."""
    import click
    import typer.main

    from agentshell import __version__

    targets = _command_targets()

    class LazyGroup(click.Group):
        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted(t for t in targets if self._loadable(t))

        def _loadable(self, name: str) -> bool:
            module_name = targets[name].partition(":")[0]
            from importlib.util import find_spec

            try:
                return find_spec(module_name) is not None
            except ModuleNotFoundError:
                return False

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            if cmd_name not in targets or not self._loadable(cmd_name):
                return None
            typer_app = _load(targets[cmd_name])
            command = typer.main.get_command(typer_app)
            command.name = cmd_name
            return command

    @click.group(cls=LazyGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, "--version", "-V", prog_name="agent", message="%(prog)s %(version)s")
    def cli() -> None:
        pass

    return cli


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args in (["--version"], ["-V"]):
        # Fast path: no typer, no click, no rich.
        from agentshell import __version__

        sys.stdout.write(f"agent {__version__}\n")
        sys.exit(0)
    cli = build_cli()
    cli.main(args=args, prog_name="agent")
