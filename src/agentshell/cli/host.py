"""The :class:`~agentshell.protocol.CommandHost` that ``agent`` hands to the commands backends add.

``agent pull`` and friends live in backend distributions and import nothing of
the agent but the protocol; this is how they still get the options ``agent
launch`` would use, the same one-line errors and exit codes, and a progress
display drawn like the rest of the terminal output. :func:`agentshell.cli.app.main`
passes it as the click context object. Creating it costs nothing: configuration,
rich and the error classifier are imported when a command asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `agent --help` creates the host: neither pydantic (the protocol) nor rich is imported for it
    from rich.progress import Progress, TaskID

    from agentshell.protocol import ProgressDisplay


class AgentCommandHost:
    """The agent's side of :class:`~agentshell.protocol.CommandHost`."""

    def options(self, backend: str, flags: Mapping[str, Any] | None = None, *, debug: bool = False) -> dict[str, Any]:
        from agentshell.config import load_config

        dotted = {f"backends.{backend}.{key}": value for key, value in (flags or {}).items()}
        return load_config(dotted).backend_pool(debug).options(backend)

    def user_errors(self, debug: bool = False) -> AbstractContextManager[None]:
        from agentshell.cli.failures import user_errors

        return user_errors(debug)

    @contextmanager
    def progress(self) -> Iterator[ProgressDisplay]:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
        with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True), transient=False) as progress:
            display = RichProgressDisplay(progress)
            yield display
            display.complete()


class RichProgressDisplay:
    """A caption line and one download bar per key, on a rich :class:`~rich.progress.Progress`."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._caption = progress.add_task("starting", total=None)
        self._bars: dict[str, TaskID] = {}

    def status(self, text: str) -> None:
        self._progress.update(self._caption, description=text)

    def transfer(self, key: str, label: str, done: int, total: int) -> None:
        bar = self._bars.get(key)
        if bar is None:
            bar = self._bars[key] = self._progress.add_task(label, total=total)
        self._progress.update(bar, completed=done, total=total)

    def complete(self) -> None:
        """Every bar full at the end: the last report of a finished layer may have come before its last byte."""
        for bar in self._bars.values():
            self._progress.update(bar, completed=self._progress.tasks[bar].total)
        self._progress.update(self._caption, total=1, completed=1)
