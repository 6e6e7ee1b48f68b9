"""``agent config show`` (every effective value and where it came from) and ``agent config path``."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Inspect the configuration: TOML file < environment variables < command-line flags.",
)


@app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (a list of key, value, source) instead.")] = False,
) -> None:
    """Print every setting's effective value and its source (default, file, env:VAR); API keys are masked."""
    from agentshell.cli.failures import user_errors

    with user_errors():
        from agentshell.config import effective_items, load_config
        from agentshell.redact import redact_obj

        config = load_config()
        rows = [(key, redact_obj(value), source) for key, value, source in effective_items(config)]
    if as_json:
        typer.echo(json.dumps([{"key": k, "value": v, "source": s} for k, v, s in rows], indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table("key", "value", "source", box=None, header_style="bold")
    for key, value, source in rows:
        shown = repr(value) if isinstance(value, str) and value != "****" else str(value)
        style = "dim" if source == "default" else ""
        table.add_row(escape(key), escape(shown), escape(source), style=style)
    console = Console()
    console.print(table)
    if config.path is not None and not config.path.is_file():
        sys.stderr.write(f"agent: no config file yet at {config.path} (create it to change the defaults)\n")


@app.command("path")
def path() -> None:
    """Print the path of the config file (set AGENT_CONFIG to use another one)."""
    from agentshell.config import config_path

    target = config_path()
    typer.echo(str(target))
    if not target.is_file():
        sys.stderr.write("agent: the file does not exist yet; agentshell uses its defaults until you create it\n")
