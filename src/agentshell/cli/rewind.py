"""``agent rewind``: put the files back as they were before a request, from a script or a shell.

Only Typer is imported at the top; the checkpoint machinery is imported in the command
body. docs/checkpoints.md describes the options, the JSON output and the exit codes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

if TYPE_CHECKING:
    from agentshell.checkpoints.rewind import HistoryEntry, RewindReport

app = typer.Typer(add_completion=False, rich_markup_mode=None)

RewindFormat = Literal["text", "json"]
SCHEMA_VERSION = 1
SHORT = 12  # characters of a checkpoint id shown to people; --to takes any unique prefix of 7 or more


@app.command()
def rewind(
    session: Annotated[
        str | None,
        typer.Option("--session", "-s", help="Session id (a unique prefix is enough); default: the latest one here."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", help="Request number, or checkpoint id, to go back to; default: the last request."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would change; change nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also overwrite files that changed outside the agent after the checkpoint.")
    ] = False,
    list_: Annotated[bool, typer.Option("--list", help="List the session's requests and checkpoints.")] = False,
    rollback: Annotated[
        bool, typer.Option("--rollback", help="Undo an interrupted rewind instead of finishing it.")
    ] = False,
    output_format: Annotated[
        RewindFormat, typer.Option("--output-format", help="text (lines for people) or json (one object).")
    ] = "text",
) -> None:
    """Put the files back as they were before a request of an agent session in this directory.

    Without options: the latest session's last run that changed files. Only files the agent
    changed are touched; if one of them changed outside the agent since, nothing is done
    unless --force. A rewind is itself a checkpoint: the undo id it prints goes back.

    Exit codes: 0 done (or nothing to do), 1 refused or failed, 2 usage error.
    """
    from agentshell.cli.failures import user_errors

    with user_errors():
        code = run_rewind(
            session=session,
            to=parse_to(to),
            dry_run=dry_run,
            force=force,
            list_=list_,
            rollback=rollback,
            output_format=output_format,
        )
    raise typer.Exit(code)


def parse_to(value: str | None) -> int | str | None:
    from agentshell.errors import UsageError

    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,6}", value) and int(value) > 0:
        return int(value)
    if re.fullmatch(r"[0-9a-fA-F]{7,40}", value):
        return value.lower()
    raise UsageError(f"--to {value!r}: give a request number (1, 2, ...) or a checkpoint id (7 to 40 hex digits)")


def run_rewind(
    *,
    session: str | None,
    to: int | str | None,
    dry_run: bool,
    force: bool,
    list_: bool,
    rollback: bool,
    output_format: RewindFormat,
) -> int:
    from agentshell.checkpoints import rewind as rw
    from agentshell.checkpoints.store import CheckpointStore
    from agentshell.errors import EXIT_FAILURE, UsageError

    if rollback and (to is not None or dry_run or list_ or force):
        raise UsageError("--rollback takes no other option: it undoes the interrupted rewind")
    here = Path.cwd().resolve()
    workspace = next((d for d in (here, *here.parents) if CheckpointStore.exists(d)), None)
    if workspace is None:  # the agent may have run in a parent directory: the nearest one with checkpoints counts
        raise rw.RewindTargetError(f"no checkpoints in {here} yet: the agent takes them when it changes files here")
    store = CheckpointStore.open(workspace)
    pending = store.journal.read()
    if rollback:
        return _show(rw.rollback(store), output_format)
    if pending is not None and not list_:
        if to is not None or session is not None or dry_run:
            raise rw.RewindPending(
                "an earlier rewind was interrupted: run `agent rewind` alone to finish it, or `agent rewind --rollback`"
            )
        return _show(rw.finish(store), output_format)
    records = store.timeline.records()
    chosen = rw.resolve_session(records, session) if session else rw.latest_session(records)
    if chosen is None:
        raise rw.RewindTargetError("no agent changed files in this directory yet: nothing to rewind")
    if list_:
        _show_history(chosen, rw.history(records, chosen), output_format)
        return 0
    index = rw.find_target(records, chosen, to)
    try:
        report = rw.rewind(store, index, session=chosen, force=force, dry_run=dry_run)
    except rw.RewindRefused as exc:
        _show(exc.report, output_format, error=str(exc))
        return exc.exit_code
    code = _show(report, output_format)
    return EXIT_FAILURE if report.dry_run and report.conflicts and not force else code


# --------------------------------------------------------------------------- output


def report_dict(report: RewindReport, error: str | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "type": "rewind",
        "action": report.action,
        "session_id": report.session,
        "request": report.request,
        "checkpoint": report.checkpoint,
        "dry_run": report.dry_run,
        "applied": report.applied,
        "refused": error is not None,
        "error": error,
        "restored": report.restored,
        "deleted": report.deleted,
        "not_restored": [{"path": p, "reason": r} for p, r in sorted(report.not_restored.items())],
        "conflicts": report.conflicts,
        "undo_checkpoint": report.undo,
    }


def report_lines(report: RewindReport) -> list[str]:
    """The report for people; also what the REPL prints after /undo and /rewind."""
    what = {"rewind": "rewound", "finish": "finished the interrupted rewind", "rollback": "rolled back the rewind"}
    where = f"request {report.request} of session {report.session}, checkpoint {report.checkpoint[:SHORT]}"
    if report.action == "rollback":
        head = f"rolled back the interrupted rewind: the files are as they were before it ({report.checkpoint[:SHORT]})"
    elif report.dry_run:
        head = (
            f"would rewind to before {where}" if report.restored or report.deleted else f"nothing to rewind ({where})"
        )
    elif not report.applied and not report.conflicts:
        head = f"nothing to rewind: the files the agent changed are as they were before {where}"
    elif not report.applied:
        head = f"not rewound to before {where}"
    else:
        head = f"{what[report.action]} to before {where}"
    verb = "would " if report.dry_run else ""
    lines = [head]
    lines += [f"  {verb}restore  {p}" for p in report.restored]
    lines += [f"  {verb}delete   {p}" for p in report.deleted]
    lines += [f"  not restored  {p}: {why}" for p, why in sorted(report.not_restored.items())]
    lines += [f"  changed outside the agent (kept unless --force)  {p}" for p in report.conflicts]
    if report.applied and report.undo:
        lines.append(f"undo: agent rewind --to {report.undo[:SHORT]}")
    return lines


def _show(report: RewindReport, output_format: RewindFormat, error: str | None = None) -> int:
    from agentshell.errors import EXIT_FAILURE

    if output_format == "json":
        typer.echo(json.dumps(report_dict(report, error), ensure_ascii=False))
    else:
        typer.echo("\n".join(report_lines(report)))
    if error is not None:
        typer.echo(f"agent: error: {error}", err=True)
        return EXIT_FAILURE
    return 0


def history_lines(entries: list[HistoryEntry]) -> list[str]:
    lines = []
    for e in entries:
        files = f"{len(e.files)} file{'s' if len(e.files) != 1 else ''}: {', '.join(e.files[:3])}" if e.files else ""
        files += ", ..." if len(e.files) > 3 else ""
        if e.kind == "rewind":
            lines.append(f"  ↺  rewind to request {e.request}  (undo: --to {(e.checkpoint or '')[:SHORT]})  {files}")
        else:
            point = (e.checkpoint or "")[:SHORT] or "-" * SHORT
            lines.append(f"  {e.request:>2}  {point}  {e.prompt or '(empty)'}  {files or 'no file changes'}")
    return lines


def _show_history(session: str, entries: list[HistoryEntry], output_format: RewindFormat) -> None:
    if output_format == "json":
        data = {
            "schema_version": SCHEMA_VERSION,
            "type": "rewind_list",
            "session_id": session,
            "entries": [
                {
                    "kind": e.kind,
                    "request": e.request,
                    "prompt": e.prompt,
                    "time": e.time,
                    "checkpoint": e.checkpoint,
                    "files": list(e.files),
                }
                for e in entries
            ],
        }
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    typer.echo(f"session {session}")
    typer.echo("\n".join(history_lines(entries)) if entries else "  no requests recorded")
