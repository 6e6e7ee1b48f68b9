"""Shell completion through the real `agent` executable, and `python -m agentshell`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def agent(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentshell", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_python_m_agentshell_works() -> None:
    done = agent("--version")
    assert done.returncode == 0 and done.stdout.strip().startswith("agent ")


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _agent_completion agent"),
        ("zsh", "compdef _agent_completion agent"),
        ("fish", "complete --command agent"),
        ("powershell", "Register-ArgumentCompleter -Native -CommandName agent"),
    ],
)
def test_scripts_for_each_shell(shell: str, marker: str) -> None:
    from typer.testing import CliRunner

    from agentshell.cli.completion import app

    result = CliRunner().invoke(app, [shell])
    assert result.exit_code == 0 and marker in result.stdout and "_AGENT_COMPLETE" in result.stdout


def test_unknown_shell_is_one_line() -> None:
    done = agent("completion", "tcsh")
    assert done.returncode == 2 and "unknown shell 'tcsh'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_real_bash_completes_subcommands_and_options() -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash not installed")
    script = (
        "source <(agent completion bash)\n"
        'COMP_WORDS=(agent doc); COMP_CWORD=1; _agent_completion agent doc agent; echo "1:${COMPREPLY[*]}"\n'
        'COMP_WORDS=(agent doctor --js); COMP_CWORD=2; _agent_completion agent --js doctor; echo "2:${COMPREPLY[*]}"\n'
    )
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "--norc", "-c", script], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert "1:doctor" in done.stdout.splitlines(), done.stdout + done.stderr
    assert "2:--json" in done.stdout.splitlines(), done.stdout + done.stderr


@pytest.mark.slow
def test_zsh_fish_and_powershell_protocols_answer() -> None:
    zsh = agent(env={"_AGENT_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "agent comp"})
    assert "completion" in zsh.stdout and zsh.returncode == 0
    pwsh = agent(
        env={
            "_AGENT_COMPLETE": "complete_powershell",
            "_TYPER_COMPLETE_ARGS": "agent doctor --ti",
            "_TYPER_COMPLETE_WORD_TO_COMPLETE": "--ti",
        }
    )
    assert pwsh.stdout.startswith("--timeout:::") and pwsh.returncode == 0


def test_install_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from agentshell.cli.completion import app

    monkeypatch.setenv("HOME", str(tmp_path))
    runner = CliRunner()
    for _ in range(2):
        assert runner.invoke(app, ["bash", "--install"]).exit_code == 0
        assert runner.invoke(app, ["fish", "--install"]).exit_code == 0
    rc = (tmp_path / ".bashrc").read_text()
    assert rc.count("source '") == 1
    sourced = Path(rc.split("source '")[1].split("'")[0])
    assert "_agent_completion" in sourced.read_text()
    fish = Path(os.environ["XDG_CONFIG_HOME"]) / "fish" / "completions" / "agent.fish"
    assert "complete --command agent" in fish.read_text()
