"""``agent pull MODEL``: download an Ollama model with a progress bar per layer.

Added to the ``agent`` command through the ``agentshell.commands`` entry point;
rich and the ollama client are imported only when the command runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agentshell_ollama.management import PullProgress

app = typer.Typer(add_completion=False)


@app.command()
def pull(
    model: Annotated[str, typer.Argument(help="Ollama model to download, e.g. qwen3:8b or ollama:gpt-oss:20b.")],
    host: Annotated[
        str | None,
        typer.Option("--host", help="Ollama server URL.", envvar="OLLAMA_HOST", show_envvar=True),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on stderr.")] = False,
) -> None:
    """Download an Ollama model so `agent launch --model NAME` can use it."""
    from agentshell.cli.failures import user_errors
    from agentshell.config import load_config
    from agentshell_ollama.backend import OllamaBackend

    name = model.removeprefix("ollama:")
    with user_errors(debug):
        config = load_config({"backends.ollama.host": host})
        options = config.backend_options(debug)
        backend = OllamaBackend({**options.get("*", {}), **options.get("ollama", {})})
        show_progress(backend.pull(name))
    typer.echo(f"pulled {name}")


def show_progress(parts: Iterable[PullProgress]) -> None:
    """One bar per layer while it downloads; the other statuses as the bar's caption.

    The first part is awaited before anything is drawn, so a daemon that is not
    running gives its one error line and no empty progress bar.
    """
    import itertools

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    stream = iter(parts)
    first = next(stream, None)
    if first is None:
        return
    layers: dict[str, TaskID] = {}
    with Progress(*columns, console=console, transient=False) as progress:
        status_task = progress.add_task("starting", total=None)
        for part in itertools.chain([first], stream):
            if part.digest and part.total:
                task = layers.get(part.digest)
                if task is None:
                    label = f"pulling {part.digest.removeprefix('sha256:')[:12]}"
                    task = layers[part.digest] = progress.add_task(label, total=part.total)
                progress.update(task, completed=part.completed or 0)
            else:
                progress.update(status_task, description=part.status)
        for task in layers.values():
            total = progress.tasks[task].total
            progress.update(task, completed=total)
        progress.update(status_task, total=1, completed=1)
