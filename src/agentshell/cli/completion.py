"""``agent completion SHELL``: tab completion for bash, zsh, fish and PowerShell.

The scripts are Typer's: each calls ``agent`` back with ``_AGENT_COMPLETE=complete_SHELL``,
and :func:`agentshell.cli.app.main` registers Typer's completion classes before
the command line is parsed (:func:`register_shells`), so the same machinery answers.

``--install`` writes the script where the shell finds it and, where the shell
needs it, one line to its rc file (added once, so running it again changes nothing).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

PROG = "agent"
COMPLETE_VAR = "_AGENT_COMPLETE"
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")

app = typer.Typer(add_completion=False)


def register_shells() -> None:
    """Make Typer's completion classes (including PowerShell's) answer ``_AGENT_COMPLETE`` requests."""
    from typer._completion_classes import completion_init

    completion_init()


def script(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    return get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell) + "\n"


def detect_shell() -> str | None:
    try:
        import shellingham  # type: ignore[import-untyped]

        name = str(shellingham.detect_shell()[0]).lower()
    except Exception:  # no parent shell to inspect (CI, cron): fall back to $SHELL
        name = Path(os.environ.get("SHELL", "")).name.lower()
    if name.endswith(".exe"):
        name = name[:-4]
    return name if name in SHELLS else None


def _append_once(rc: Path, line: str) -> None:
    text = rc.read_text(encoding="utf-8") if rc.is_file() else ""
    if line in text.splitlines():
        return
    rc.parent.mkdir(parents=True, exist_ok=True)
    with rc.open("a", encoding="utf-8") as out:
        out.write(("" if not text or text.endswith("\n") else "\n") + f"{line}\n")


def install(shell: str) -> str:
    """Install the script for ``shell``; returns a line saying where."""
    from agentshell.config import data_dir

    home = Path.home()
    if shell == "bash":
        target = data_dir() / "completion" / "agent.bash"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script("bash"), encoding="utf-8")
        _append_once(home / ".bashrc", f"source '{target}'")
        return f"bash completion installed in {target} (sourced from ~/.bashrc)"
    if shell == "zsh":
        target = home / ".zfunc" / "_agent"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script("zsh"), encoding="utf-8")
        _append_once(home / ".zshrc", "fpath+=~/.zfunc; autoload -Uz compinit; compinit")
        return f"zsh completion installed in {target} (loaded through fpath in ~/.zshrc)"
    if shell == "fish":
        config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        target = config / "fish" / "completions" / "agent.fish"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(script("fish"), encoding="utf-8")
        return f"fish completion installed in {target}"
    profile = _powershell_profile(shell)
    _append_once(profile, "agent completion powershell | Out-String | Invoke-Expression")
    return f"PowerShell completion added to {profile}"


def _powershell_profile(shell: str) -> Path:
    for exe in (shell, "pwsh", "powershell"):
        try:
            done = subprocess.run(
                [exe, "-NoProfile", "-Command", "echo $PROFILE"],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        path = done.stdout.strip()
        if done.returncode == 0 and path:
            return Path(path)
    raise typer.BadParameter(
        "cannot find PowerShell to ask for $PROFILE; add this line to your profile yourself: "
        "agent completion powershell | Out-String | Invoke-Expression"
    )


@app.command()
def completion(
    shell: Annotated[
        str | None, typer.Argument(help="bash, zsh, fish or powershell (default: the shell you are running).")
    ] = None,
    install_it: Annotated[
        bool, typer.Option("--install", help="Install it for your user instead of printing it.")
    ] = False,
) -> None:
    """Print (or --install) the tab-completion script for your shell.

    Examples: eval "$(agent completion bash)" ; agent completion fish > ~/.config/fish/completions/agent.fish ;
    agent completion powershell | Out-String | Invoke-Expression
    """
    name = (shell or detect_shell() or "").lower()
    if name not in SHELLS:
        given = f"unknown shell {shell!r}" if shell else "cannot tell which shell you use"
        sys.stderr.write(f"agent: error: {given}; name one of: bash, zsh, fish, powershell\n")
        raise typer.Exit(2)
    if install_it:
        try:
            sys.stdout.write(install(name) + "\n")
        except OSError as exc:
            sys.stderr.write(f"agent: error: cannot install completion: {exc}\n")
            raise typer.Exit(1) from exc
        except typer.BadParameter as exc:
            sys.stderr.write(f"agent: error: {exc.message}\n")
            raise typer.Exit(1) from exc
        sys.stdout.write("Open a new shell to use it.\n")
        return
    sys.stdout.write(script(name))
