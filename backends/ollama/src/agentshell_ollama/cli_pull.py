"""``agent pull MODEL``: download an Ollama model with a progress bar per layer.

Added to the ``agent`` command through the ``agentshell.commands`` entry point.
Its options, its one-line errors and the progress bars come from the agent's
:class:`~agentshell.protocol.CommandHost` (the click context object), so this
module imports nothing of the agent but the protocol; the ollama client is
imported only when the command runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from agentshell.protocol import ProgressDisplay, command_host

if TYPE_CHECKING:
    from agentshell_ollama.management import PullProgress

app = typer.Typer(add_completion=False)


@app.command()
def pull(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="Ollama model to download, e.g. qwen3:8b or ollama:gpt-oss:20b.")],
    host: Annotated[
        str | None,
        typer.Option("--host", help="Ollama server URL.", envvar="OLLAMA_HOST", show_envvar=True),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on stderr.")] = False,
) -> None:
    """Download an Ollama model so `agent launch --model NAME` can use it."""
    import itertools

    from agentshell_ollama.backend import OllamaBackend

    agent = command_host(ctx.obj)
    name = model.removeprefix("ollama:")
    with agent.user_errors(debug):
        backend = OllamaBackend(agent.options("ollama", {"host": host}, debug=debug))
        parts = iter(backend.pull(name))
        first = next(parts, None)  # awaited before drawing: a daemon that is down gives one line, no empty bar
        if first is not None:
            with agent.progress() as display:
                show_progress(itertools.chain([first], parts), display)
    typer.echo(f"pulled {name}")


def show_progress(parts: Iterable[PullProgress], display: ProgressDisplay) -> None:
    """One bar per layer while it downloads (keyed by its digest); the other statuses as the caption."""
    for part in parts:
        if part.digest and part.total:
            label = f"pulling {part.digest.removeprefix('sha256:')[:12]}"
            display.transfer(part.digest, label, part.completed or 0, part.total)
        else:
            display.status(part.status)
