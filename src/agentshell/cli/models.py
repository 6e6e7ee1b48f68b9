"""``agent backends`` (what is installed and usable now) and ``agent models`` (what each can run)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from agentshell.registry import BackendPool

backends_app = typer.Typer(add_completion=False)
models_app = typer.Typer(add_completion=False)


def backend_rows(pool: BackendPool, names: list[str]) -> list[dict[str, Any]]:
    """One row per backend: usable now (HealthCheck when the backend has one) and why."""
    from agentshell.protocol import BackendFailure, HealthCheck

    rows = []
    for name in names:
        try:
            backend = pool.get(name)
        except BackendFailure as exc:
            rows.append({"backend": name, "usable": False, "detail": str(exc)})
            continue
        if isinstance(backend, HealthCheck):
            try:
                usable, detail = backend.health()
            except BackendFailure as exc:
                usable, detail = False, str(exc)
        else:
            usable, detail = True, "installed"
        rows.append({"backend": name, "usable": usable, "detail": detail})
    return rows


@backends_app.command("backends")
def backends(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List installed backends, in the order they claim model names, and whether each can run now."""
    from agentshell.cli.failures import user_errors

    with user_errors():
        from agentshell.config import load_config
        from agentshell.registry import backend_names

        rows = backend_rows(load_config().backend_pool(), backend_names())
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from agentshell.cli.safe_text import one_line

    table = Table("backend", "usable", "detail", box=None, header_style="bold")
    for row in rows:  # Text, not markup: "add [endpoints.NAME] to the config" must keep its brackets
        usable = Text("yes", style="green") if row["usable"] else Text("no", style="red")
        table.add_row(Text(one_line(row["backend"])), usable, Text(one_line(row["detail"])))
    Console().print(table)


@models_app.command("models")
def models(
    backend: Annotated[str | None, typer.Option("--backend", "-b", help="Only this backend's models.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the models each backend can run, with context length and tool support."""
    import sys

    from agentshell.cli.failures import user_errors

    with user_errors():
        from agentshell.config import load_config
        from agentshell.protocol import BackendFailure, ModelInfo
        from agentshell.registry import backend_names

        pool = load_config().backend_pool()
        found: list[ModelInfo] = []
        unlisted: list[str] = []  # said once, after the list: an unconfigured backend is not the headline
        for name in [backend] if backend else backend_names():
            try:
                found.extend(pool.get(name).list_models())
            except BackendFailure as exc:
                if backend:  # the user asked for this one: its failure is the answer
                    raise
                unlisted.append(f"{name} ({exc.message})")
    note = f"agent: not listed: {'; '.join(unlisted)}; `agent doctor` says how to fix each\n" if unlisted else ""
    if as_json:
        rows = [
            {
                "backend": m.backend,
                "model": m.name,
                "context_length": m.context_length,
                "tools": m.supports_tools,
                "capabilities": sorted(m.capabilities),
                "remote": m.remote,
                "details": m.details,
            }
            for m in found
        ]
        typer.echo(json.dumps(rows, indent=2))
        sys.stderr.write(note)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from agentshell.cli.safe_text import one_line

    table = Table("backend", "model", "context", "tools", "details", box=None, header_style="bold")
    for m in found:
        details = ", ".join(f"{v}" for v in m.details.values()) + (" (remote)" if m.remote else "")
        context = f"{m.context_length:,}" if m.context_length else "?"
        cells = (m.backend, m.name, context, "yes" if m.supports_tools else "no", details)
        table.add_row(*(Text(one_line(cell)) for cell in cells))  # names and details are never markup
    Console().print(table)
    sys.stderr.write(note)
    if not found:
        sys.stderr.write("agent: no models found (agent backends shows what is installed)\n")
