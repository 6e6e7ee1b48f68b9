"""``agent init``: write a starter AGENTS.md, the project instructions every request carries."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False)

# Marker file -> (what the project is, the command that runs its tests).
_PROJECT_KINDS: tuple[tuple[str, str, str], ...] = (
    ("uv.lock", "a Python project managed with uv", "uv run pytest"),
    ("pyproject.toml", "a Python project", "python -m pytest"),
    ("package.json", "a JavaScript/TypeScript project", "npm test"),
    ("Cargo.toml", "a Rust project", "cargo test"),
    ("go.mod", "a Go module", "go test ./..."),
    ("pom.xml", "a Java project built with Maven", "mvn test"),
    ("Makefile", "a project built with make", "make test"),
)


def starter_agents_md(workspace: Path) -> str:
    """A short AGENTS.md tailored to what the workspace looks like, for the user to complete."""
    kind, test_command = "a software project", None
    for marker, what, command in _PROJECT_KINDS:
        if (workspace / marker).exists():
            kind, test_command = what, command
            break
    tests = f"- Run the tests: `{test_command}`" if test_command else "- Run the tests: (add the command here)"
    return f"""\
# AGENTS.md

Instructions for coding agents working in this repository ({workspace.name}, {kind}).
agentshell sends this file with every request, so keep it short and concrete.

## Commands
{tests}
- Lint / format: (add the commands here)

## Conventions
- Follow the style of the surrounding code; keep changes small and focused.
- Add or update tests with every behaviour change.

## Boundaries
- Do not edit generated files, lock files or vendored code unless asked.
- Never commit secrets; ask before deleting files or running anything destructive.
"""


@app.command("init")
def init(
    directory: Annotated[Path, typer.Argument(help="Workspace to write AGENTS.md into.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", "-f", help="Overwrite an existing AGENTS.md.")] = False,
) -> None:
    """Write a starter AGENTS.md (project instructions for the agent) in the workspace."""
    from agentshell.cli.failures import fail, user_errors
    from agentshell.errors import EXIT_USAGE

    workspace = directory.expanduser().resolve()
    if not workspace.is_dir():
        fail(EXIT_USAGE, f"{workspace} is not a directory")
    target = workspace / "AGENTS.md"
    if (target.exists() or target.is_symlink()) and not force:
        fail(EXIT_USAGE, f"{target} already exists; edit it, or run `agent init --force` to replace it")
    with user_errors():
        if target.is_symlink():
            target.unlink()  # replace the link itself, never write through it to somewhere else
        target.write_text(starter_agents_md(workspace), encoding="utf-8")
    typer.echo(f"wrote {target}")
