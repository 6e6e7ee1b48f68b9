"""``agent sessions list|show|rm``: the transcripts agentshell keeps, one per conversation."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="List, show and remove saved sessions (resume one with `agent launch --continue` or `--resume ID`).",
)


def _local(when: datetime, *, short: bool = False) -> str:
    local = when.astimezone()
    if short and local.year == datetime.now().year:
        return local.strftime("%m-%d %H:%M")  # keeps the table inside 80 columns
    return local.strftime("%Y-%m-%d %H:%M")


def _summary_dict(summary: Any, busy: bool) -> dict[str, Any]:
    return {
        "id": summary.id,
        "workspace": str(summary.workspace),
        "created": summary.created.isoformat(),
        "updated": summary.updated.isoformat(),
        "messages": summary.messages,
        "title": summary.title,
        "backend": summary.backend,
        "model": summary.model,
        "in_use": busy,
    }


@app.command("list")
def list_sessions(
    all_workspaces: Annotated[
        bool, typer.Option("--all", "-a", help="Sessions of every workspace, not only the current directory.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List saved sessions of this directory (newest last)."""
    from agentshell.cli.failures import user_errors

    with user_errors():
        from agentshell.redact import redact_obj
        from agentshell.session import SessionStore

        store = SessionStore()
        summaries = store.list(None if all_workspaces else Path.cwd())
        summaries.sort(key=lambda s: (s.updated, s.id))
        rows = [redact_obj(_summary_dict(s, store.is_busy(s.id))) for s in summaries]
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        where = "" if all_workspaces else " for this directory (try --all)"
        typer.echo(f"no sessions{where}", err=True)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from agentshell.cli.safe_text import one_line

    console = Console()
    table = Table(box=None, header_style="bold", pad_edge=False)
    id_width = max(len(r["id"]) + (9 if r["in_use"] else 0) for r in rows)
    table.add_column("id", no_wrap=True, min_width=id_width)  # the one column that must stay whole
    table.add_column("updated", no_wrap=True, min_width=11)
    table.add_column("msgs", justify="right", no_wrap=True, min_width=4)
    # The title is what a person recognises a session by: at 80 columns it gets the room, and the model
    # (still in --json and `show`) only shows on wide terminals. With --all the workspace says more.
    wide = console.width >= 110
    home = str(Path.home())
    thirds = []
    for row in rows:
        if all_workspaces:
            workspace = row["workspace"]
            thirds.append("~" + workspace[len(home) :] if workspace.startswith(home + "/") else workspace)
        else:
            thirds.append(f"{row['backend']}:{row['model']}" if row["backend"] else "")
    third_width = 0
    if all_workspaces or wide:
        room = console.width - id_width - 11 - 4 - 2 * 4 - 30  # what is left with a 30-character title
        limit = (max(40, room) if all_workspaces else 40) if wide else 12
        third_width = min(max(len(t) for t in thirds), limit)
        name = "workspace" if all_workspaces else "model"
        width = max(third_width, len(name))
        if all_workspaces:
            table.add_column(name, overflow="fold", width=width)
        else:
            table.add_column(name, overflow="ellipsis", no_wrap=True, width=width)
        third_width = max(third_width, len(name)) + 2
    # rich squeezes wrapping columns to nothing before it cuts one that does not wrap: the title gets what is left.
    title_width = max(16, console.width - id_width - 11 - 4 - 2 * 3 - third_width)
    table.add_column("title", no_wrap=True, overflow="ellipsis", max_width=title_width)
    for row, third_cell in zip(rows, thirds, strict=True):
        cells = [
            row["id"] + (" (in use)" if row["in_use"] else ""),
            _local(datetime.fromisoformat(row["updated"]), short=True),
            str(row["messages"]),
            *([third_cell] if all_workspaces or wide else []),
            row["title"],
        ]
        table.add_row(*(escape(one_line(c)) for c in cells))  # a title is a prompt: it may hold escape sequences
    console.print(table)


@app.command("show")
def show(
    session_id: Annotated[str, typer.Argument(help="Session id (a unique prefix is enough).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the session as one JSON object.")] = False,
) -> None:
    """Print a session's whole transcript, including what was compacted away from the live conversation."""
    from agentshell.cli.failures import user_errors

    with user_errors():
        from agentshell.redact import redact_obj
        from agentshell.session import SessionStore

        store = SessionStore()
        summary, messages, warnings = store.read(session_id)
        busy = store.is_busy(summary.id)
    for warning in warnings:
        typer.echo(f"agent: warning: {warning}", err=True)
    if as_json:
        data = _summary_dict(summary, busy)
        data["messages"] = [m.model_dump(mode="json", exclude_defaults=True) for m in messages]
        typer.echo(json.dumps(redact_obj(data), indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.markup import escape

    from agentshell.cli.safe_text import one_line, terminal_safe
    from agentshell.redact import redact

    def shown(text: str) -> str:  # transcripts hold what models and commands wrote: no escape sequences obeyed
        return escape(terminal_safe(redact(text)))

    console = Console()
    console.print(
        f"[bold]{escape(summary.id)}[/]  {escape(one_line(str(summary.workspace)))}  "
        f"{_local(summary.created)} → {_local(summary.updated)}  {len(messages)} messages"
    )
    for m in messages:
        console.print()
        label = {"user": "you", "assistant": "assistant", "system": "system", "tool": f"tool {m.name or ''}"}[m.role]
        console.print(f"[bold cyan]{escape(one_line(label))}[/]" + (" [dim](interrupted)[/]" if m.interrupted else ""))
        if m.thinking:
            console.print(f"[dim]{shown(m.thinking)}[/]")
        if m.content:
            console.print(shown(m.content), highlight=False)
        for call in m.tool_calls:
            args = json.dumps(call.arguments, ensure_ascii=False)
            console.print(f"[yellow]→ {escape(one_line(call.name))}[/] {shown(args)}", highlight=False)


@app.command("rm")
def remove(
    session_ids: Annotated[list[str], typer.Argument(help="Session ids (unique prefixes are enough).")],
) -> None:
    """Delete sessions from disk (a session in use by a running agent is refused)."""
    from agentshell.cli.failures import user_errors

    with user_errors():
        from agentshell.session import SessionStore

        store = SessionStore()
        for session_id in session_ids:
            full = store.resolve_id(session_id)
            store.remove(full)
            typer.echo(f"removed {full}")
