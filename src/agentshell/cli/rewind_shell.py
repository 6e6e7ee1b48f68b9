"""The shell's ``/undo`` and ``/rewind``: files, conversation, or both, back to before a request.

``/undo`` puts the files back as they were before the session's last request that
changed any (or undoes the last rewind: a rewind is itself a checkpoint, so ``/undo``
twice brings the changes back). ``/rewind`` lists the session's requests with the files
each changed and asks where to go and what to restore: the code, the conversation, or
both. Files changed outside the agent since are listed and kept unless the user says
to overwrite them. docs/checkpoints.md describes both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from agentshell.checkpoints import rewind as rw
from agentshell.checkpoints.gitcmd import CheckpointError
from agentshell.checkpoints.recorder import prompt_line
from agentshell.cli.rewind import SHORT, report_lines
from agentshell.cli.safe_text import terminal_safe

if TYPE_CHECKING:
    from agentshell.api.assembly import Assembly
    from agentshell.checkpoints.store import CheckpointStore
    from agentshell.loop.agent import Agent

Ask = Callable[[str], str]


def undo(console: Console, ask: Ask, parts: Assembly, agent: Agent) -> None:
    store = _store(console, parts)
    if store is None:
        return
    with _cancellable(console, store):
        _undo(console, ask, store, parts)


def rewind(console: Console, ask: Ask, parts: Assembly, agent: Agent, arg: str) -> None:
    store = _store(console, parts)
    if store is None:
        return
    with _cancellable(console, store):
        _rewind(console, ask, store, parts, agent, arg)


@contextmanager
def _cancellable(console: Console, store: CheckpointStore) -> Iterator[None]:
    """Ctrl-C or Ctrl-D at a question cancels; during the rewind itself, the journal says what to do next."""
    try:
        yield
    except (KeyboardInterrupt, EOFError):
        if store.journal.path.exists():
            console.print(
                Text(
                    "interrupted in the middle of the rewind: `agent rewind` finishes it, `agent rewind --rollback` "
                    "undoes it",
                    style="yellow",
                )
            )
        else:
            console.print(Text("cancelled: nothing was changed", style="dim"))


def _undo(console: Console, ask: Ask, store: CheckpointStore, parts: Assembly) -> None:
    entries = [e for e in _history(store, parts) if e.index is not None and (e.files or e.kind == "rewind")]
    if not entries:
        console.print(Text("nothing to undo: no request of this session changed files", style="dim"))
        return
    _rewind_files(console, ask, store, parts, entries[-1])


def _rewind(console: Console, ask: Ask, store: CheckpointStore, parts: Assembly, agent: Agent, arg: str) -> None:
    entries = _history(store, parts)
    if not entries:
        console.print(Text("nothing to rewind: no request in this session yet", style="dim"))
        return
    labels = _labels(entries)
    if not arg:
        for label, entry in zip(labels, entries, strict=True):
            console.print(_describe(label, entry))
        arg = ask("rewind to before which request? (number, Enter cancels): ").strip()
        if not arg:
            return
    chosen = dict(zip(labels, entries, strict=True)).get(arg.lower())
    if chosen is None:
        console.print(Text(f"no request {arg} in this session; /rewind lists them", style="red"))
        return
    what = "code"
    if chosen.kind == "request":
        answer = ask("restore [c]ode, c[o]nversation or [b]oth? [b]: ").strip().lower() or "b"
        what = {"c": "code", "o": "conversation", "b": "both"}.get(answer[:1], "")
        if not what:
            console.print(Text("cancelled: answer c, o or b", style="dim"))
            return
    if what in ("code", "both"):
        if chosen.index is None:
            console.print(Text(f"no file changed since request {chosen.request}: the code stays", style="dim"))
        elif not _rewind_files(console, ask, store, parts, chosen):
            return
    if what in ("conversation", "both"):
        _rewind_conversation(console, parts, agent, chosen)


def _store(console: Console, parts: Assembly) -> CheckpointStore | None:
    store = parts.checkpoints.store
    if store is None:
        console.print(Text("file checkpoints are off in this session (see the warning at start)", style="red"))
    return store


def _history(store: CheckpointStore, parts: Assembly) -> list[rw.HistoryEntry]:
    return rw.history(store.timeline.records(), parts.session.id)


def _labels(entries: list[rw.HistoryEntry]) -> list[str]:
    """Requests by their number (as `agent rewind --to` takes them), rewinds as r1, r2..."""
    labels, rewinds = [], 0
    for entry in entries:
        if entry.kind == "rewind":
            rewinds += 1
            labels.append(f"r{rewinds}")
        else:
            labels.append(str(entry.request))
    return labels


def _describe(label: str, entry: rw.HistoryEntry) -> Text:
    files = ", ".join(entry.files[:3]) + (f" and {len(entry.files) - 3} more" if len(entry.files) > 3 else "")
    line = Text(f"{label:>4}  ", style="bold")
    if entry.kind == "rewind":
        line.append(f"↺ rewind to before request {entry.request}", style="cyan")
    else:
        line.append(entry.prompt or "(empty)")
    line.append(f"  {files}" if files else "  no file changes", style="dim")
    return line


def _rewind_files(console: Console, ask: Ask, store: CheckpointStore, parts: Assembly, entry: rw.HistoryEntry) -> bool:
    """Rewind the files to ``entry``; False when the user kept files that changed outside the agent."""
    assert entry.index is not None
    session = parts.session.id
    try:
        report = rw.rewind(store, entry.index, session=session)
    except rw.RewindRefused as refused:
        console.print(Text("changed outside the agent since that checkpoint:", style="yellow"))
        for path in refused.report.conflicts:
            console.print(Text(f"  {terminal_safe(path)}"))  # a file name is not markup, nor escapes
        if not ask("overwrite them too? [y/N]: ").strip().lower().startswith("y"):
            console.print(Text("nothing was changed", style="dim"))
            return False
        report = rw.rewind(store, entry.index, session=session, force=True)
    except CheckpointError as exc:
        console.print(Text(f"error: {exc}", style="red"))
        return False
    lines = report_lines(report)
    if report.applied and report.undo:
        lines[-1] = f"/undo brings them back (checkpoint {report.undo[:SHORT]})"
    for line in lines:
        console.print(Text(line, style="green" if line is lines[0] and report.applied else ""))
    return True


def _rewind_conversation(console: Console, parts: Assembly, agent: Agent, entry: rw.HistoryEntry) -> None:
    keep = entry.messages
    messages = agent.messages
    if (
        keep < 0
        or keep >= len(messages)
        or messages[keep].role != "user"
        or (prompt_line(messages[keep].content) != entry.prompt)
    ):
        console.print(
            Text(
                f"the conversation cannot go back to request {entry.request}: it was compacted or cleared since",
                style="red",
            )
        )
        return
    agent.messages = messages[:keep]
    parts.session.record_compaction(agent.messages)  # a resumed session continues from here too
    console.print(Text(f"the conversation is back to before request {entry.request}: {entry.prompt}", style="green"))
